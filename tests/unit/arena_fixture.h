/* arena_fixture.h - a cmocka group fixture shared by the unit tests that need one scratch
 * arena for a whole group: `arena`, made by setup() and freed by teardown(). Include it
 * after <cmocka.h>, once per test file. */
#ifndef ENGRAM_TESTS_ARENA_FIXTURE_H
#define ENGRAM_TESTS_ARENA_FIXTURE_H

#include "util/arena.h"

static struct arena *arena;

static int setup(void **state)
{
    (void)state;
    arena = arena_new();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(arena);
    return 0;
}

#endif
