/* SPDX-License-Identifier: MIT */
/*
 * Output paths checked before a run sends anything: a report that cannot be written is found
 * while nothing has been sent yet (exit 2 then means what it says), not after the last request.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <reprise/report.h>

rp_code rp_report_path_check(const char *flag, const char *path, struct rp_error *err)
{
    if (!path[0]) {
        return rp_error_set(err, RP_EIO, "%s: an empty path; nothing was sent", flag);
    }
    if (strcmp(path, "-") == 0) {
        return RP_OK; /* standard output */
    }
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            return rp_error_set(err, RP_EIO, "%s %s: is a directory; nothing was sent", flag, path);
        }
        if (access(path, W_OK) != 0) {
            return rp_error_set(err, RP_EIO, "%s %s: cannot write it (%s); nothing was sent", flag,
                                path, strerror(errno));
        }
    } else if (errno != ENOENT) {
        return rp_error_set(err, RP_EIO, "%s %s: %s; nothing was sent", flag, path,
                            strerror(errno));
    }
    /* The directory: everything before the last '/', or "." for a bare name. */
    const char *slash = strrchr(path, '/');
    char *dir =
        slash ? rp_xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : rp_xstrdup(".");
    rp_code rc = RP_OK;
    if (stat(dir, &st) != 0) {
        rc = rp_error_set(err, RP_EIO, "%s %s: no directory %s (%s); nothing was sent", flag, path,
                          dir, strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        rc = rp_error_set(err, RP_EIO, "%s %s: %s is not a directory; nothing was sent", flag, path,
                          dir);
    } else if (access(dir, W_OK | X_OK) != 0) {
        rc = rp_error_set(err, RP_EIO, "%s %s: cannot create files in %s (%s); nothing was sent",
                          flag, path, dir, strerror(errno));
    }
    free(dir);
    return rc;
}
