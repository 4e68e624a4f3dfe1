/* replay.c - the driver that replaces libFuzzer in `make test`: run every file named on the
 * command line (or found in a directory named there, not recursively) once through the
 * target's LLVMFuzzerTestOneInput(), in one process, and end with `N passed, N failed`.
 *
 * A target signals a broken invariant by aborting (FUZZ_CHECK) and a sanitizer build dies on
 * a memory error, so a failing input ends the run: the last "replay:" line on stderr names
 * it. An input that returns normally counts as passed.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Targets without a one-time setup leave this weak default in place. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

/* The whole file at path in a heap block of exactly its size (NULL on an empty file, which
 * is a valid input); -1 if it cannot be read. */
static int slurp(const char *path, uint8_t **out, size_t *n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    long size;

    *out = NULL;
    *n = 0;
    if (!f)
        return -1;
    if (fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
        fclose(f);
        return -1;
    }
    if (size > 0) {
        data = malloc((size_t)size); /* exact size: a read past the end is caught by ASan */
        if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) {
            free(data);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    *out = data;
    *n = (size_t)size;
    return 0;
}

static int run_file(const char *path, int *failed)
{
    uint8_t *data;
    size_t n;

    if (slurp(path, &data, &n) < 0) {
        fprintf(stderr, "FAIL replay: cannot read '%s'\n", path);
        (*failed)++;
        return 0;
    }
    fprintf(stderr, "replay: %s\n", path);
    LLVMFuzzerTestOneInput(data, n);
    free(data);
    return 1;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run every regular file of dir, in name order; returns how many ran. */
static int run_dir(const char *dir, int *failed)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    int ran = 0;

    if (!d)
        return 0; /* a target without findings has no findings directory */
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof(*names));
            if (!names)
                abort();
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), cmp_names);
    for (i = 0; i < n; i++) {
        char path[4096];
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            ran += run_file(path, failed);
        free(names[i]);
    }
    free(names);
    return ran;
}

int main(int argc, char **argv)
{
    int i, passed = 0, failed = 0;
    struct stat st;

    LLVMFuzzerInitialize(&argc, &argv);
    for (i = 1; i < argc; i++) {
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
            passed += run_dir(argv[i], &failed);
        else if (stat(argv[i], &st) == 0)
            passed += run_file(argv[i], &failed);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
