/* test_deadline.c - unit tests for http/deadline: a connection past its header deadline is
 * shut down, a disarmed one is left alone, re-arming sets a new deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/deadline.h"
#include "util/ts.h"

/* 1 when the peer of sock sees the end of the stream within ms milliseconds. */
static int ended(int sock, int ms)
{
    struct pollfd p = { .fd = sock, .events = POLLIN };
    char c;

    if (poll(&p, 1, ms) != 1)
        return 0;
    return recv(sock, &c, 1, 0) == 0;
}

static void test_deadline_shuts_down_past_due(void **state)
{
    struct deadlines *ds = deadlines_new();
    int a[2], b[2];
    struct deadline *da, *db;

    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
    da = deadline_add(ds, a[0], ts_monotonic() + 100000);
    db = deadline_add(ds, b[0], ts_monotonic() + 100000);
    deadline_disarm(ds, db);            /* b completed its header in time */
    assert_true(ended(a[1], 2000));
    assert_false(ended(b[1], 600));
    deadline_arm(ds, db, ts_monotonic() + 100000);   /* b's next header is due */
    assert_true(ended(b[1], 2000));
    deadline_remove(ds, da);
    deadline_remove(ds, db);
    deadline_remove(ds, NULL);
    deadlines_free(ds);
    deadlines_free(NULL);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
}

static void test_deadline_removed_is_never_shut(void **state)
{
    struct deadlines *ds = deadlines_new();
    int a[2];

    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
    deadline_remove(ds, deadline_add(ds, a[0], ts_monotonic() + 50000));
    assert_false(ended(a[1], 600));
    deadlines_free(ds);
    close(a[0]);
    close(a[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadline_shuts_down_past_due),
        cmocka_unit_test(test_deadline_removed_is_never_shut),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
