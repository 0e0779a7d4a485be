/* fsafe.h - files and folders opened so that no link, no swapped name and
 * no umask can turn a write into someone else's file.
 *
 * linkwatch starts as root and hands its log folder, spools and control
 * socket to privileges.user; that account can then put anything in those
 * folders before the next start. So:
 *
 *   - A configured path is the operator's up to its parent folder (/var/log,
 *     /run); its last component, and every name below a folder opened here,
 *     is opened relative to a folder descriptor with O_NOFOLLOW.
 *   - A symbolic link is refused, as is a name of the wrong type (a file
 *     where a folder is expected, a FIFO or socket where a file is) and a
 *     file with more than one hard link (writing to it writes another name).
 *     The reason is one line: "PATH: is a symbolic link; refused".
 *   - New files are created with O_EXCL, mode 0640 or tighter: the mode
 *     given is the most a file may have, whatever the umask, and an existing
 *     file more open than that is narrowed to it.
 *   - Ownership and mode change on the descriptor (fchown, fchmod), never by
 *     name.
 *
 * Every function returns -1 with a one-line reason in err (which starts
 * with `shown`, the path as the user should read it) on error. Descriptors
 * are close-on-exec; the caller closes them.
 */
#ifndef LW_FSAFE_H
#define LW_FSAFE_H

#include <stddef.h>
#include <sys/types.h>

/* Opens folder path, creating it with mode when create is set and it is
 * missing (*made, when not NULL, tells whether it was). The folders above
 * it are followed as the operator wrote them; the folder itself is not:
 * a link there is refused. Returns a descriptor (O_DIRECTORY) or -1. */
int fs_open_dir(const char *path, int create, mode_t mode, int *made, char *err, size_t errlen);

/* Opens folder rel below folder dirfd, each component with O_NOFOLLOW,
 * creating the missing ones with mode when create is set (*made: the last
 * one was). An absolute rel is fs_open_dir(rel). shown names rel in
 * messages. Returns a descriptor or -1. */
int fs_open_dir_at(int dirfd, const char *rel, const char *shown, int create, mode_t mode, int *made,
                   char *err, size_t errlen);

/* Opens file name (one component) of folder dirfd. flags: O_RDONLY,
 * O_WRONLY or O_RDWR, with O_APPEND, O_TRUNC and O_CREAT (create it when
 * missing: O_EXCL, then the existing one); O_NOFOLLOW and O_CLOEXEC are
 * always added. The file must be a regular file with one link; its mode is
 * narrowed to mode (created files get mode exactly: 0640, 0600). Sets
 * *created when not NULL. Returns the descriptor, -1 with err, or -1 with
 * errno ENOENT and err set when the file is missing and O_CREAT not given. */
int fs_open_file_at(int dirfd, const char *name, const char *shown, int flags, mode_t mode, int *created,
                    char *err, size_t errlen);

/* Replaces file name of folder dirfd with len bytes of data, atomically:
 * written to a new temporary (O_EXCL: a link or file left under its name
 * is removed first, never followed), synced when sync is set, then renamed
 * over name (renaming a link replaces the link, not its target). The new
 * file gets mode exactly, and group gid when gid >= 0. Returns 0 or -1. */
int fs_replace_at(int dirfd, const char *name, const char *shown, const void *data, size_t len,
                  mode_t mode, long gid, int sync, char *err, size_t errlen);

/* Gives fd (a folder, or a regular file with one link: checked again, so a
 * descriptor of something else is never given away) to uid/gid. Returns 0
 * or -1 with errno set. */
int fs_give(int fd, unsigned uid, unsigned gid);

/* Splits path into its folder and last component (trailing slashes
 * dropped): "/a/b" -> "/a" + "b", "b" -> "." + "b", "/" -> "/" + ".".
 * Writes both into buffers of the caller (each at least strlen(path) + 2).
 * Returns 0, or -1 for an empty path. */
int fs_split(const char *path, char *dir, char *base);

#endif
