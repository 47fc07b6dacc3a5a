#ifndef SKM_TESTS_SUBPROCESS_SHIM_H
#define SKM_TESTS_SUBPROCESS_SHIM_H
#include <spawn.h>

// glibc (2.34 and later) declares these only under _GNU_SOURCE, which Swift's Glibc module is not built with. The
// tests start programs with them: a child that closes every descriptor above standard error as it starts, and pipes
// that are closed on exec from the moment they exist, so no program a test starts holds another test's pipe.
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
extern int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *actions, const char *path);
extern int pipe2(int descriptors[2], int flags);
#endif
