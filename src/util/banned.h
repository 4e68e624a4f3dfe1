/* banned.h - functions Engram's C never calls (C-STYLE.md §6), after git's banned.h.
 *
 * Every translation unit includes this file first: the Makefile passes `-include
 * src/util/banned.h` to the compiler, so no source file can forget it. The system headers
 * come first, so their own declarations are not renamed; after that, a call to a banned
 * function expands to an undeclared name and the build fails naming it:
 * "sorry_strcpy_is_a_banned_function". Use snprintf (checked for truncation), buf_printf,
 * arena_printf, memcpy with a known length, strtok_r, gmtime_r. */
#ifndef ENGRAM_UTIL_BANNED_H
#define ENGRAM_UTIL_BANNED_H

#include <stdio.h>
#include <string.h>
#include <time.h>

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(dst, src) BANNED(strcpy)
#undef strcat
#define strcat(dst, src) BANNED(strcat)
#undef strncpy
#define strncpy(dst, src, n) BANNED(strncpy)
#undef strncat
#define strncat(dst, src, n) BANNED(strncat)
#undef strtok
#define strtok(s, delim) BANNED(strtok)
#undef gets
#define gets(s) BANNED(gets)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef gmtime
#define gmtime(t) BANNED(gmtime)
#undef localtime
#define localtime(t) BANNED(localtime)
#undef ctime
#define ctime(t) BANNED(ctime)
#undef asctime
#define asctime(t) BANNED(asctime)

#endif
