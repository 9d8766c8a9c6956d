/*
 * walk.c - the walk over PATH arguments shared by `dmarcd parse` and
 * `dmarcd import`: files as named, directories recursively in name order
 * (so two runs over the same tree see the files in the same order).
 *
 * A directory is entered when it is named or reached without a symlink,
 * so a symlink cannot make the walk loop; symlinks to files are followed.
 * What cannot be read is reported on stderr, prefixed with the command's
 * name, and marks the walk failed; the rest of the walk goes on.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "lib/strbuf.h"
#include "lib/banned.h"

#define WALK_MAX_DEPTH 64

static void walk_path(struct cmd_walk *w, const char *path, int depth);

static void walk_dir(struct cmd_walk *w, const char *path, int depth)
{
    struct dirent **entries = NULL;
    int n = scandir(path, &entries, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "%s: %s: cannot read directory: %s\n", w->who, path, strerror(errno));
        w->failed = true;
        return;
    }
    for (int i = 0; i < n; i++) {
        const char *name = entries[i]->d_name;
        if (!w->stop && strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
            struct strbuf child;
            strbuf_init(&child, 0);
            strbuf_addf(&child, "%s/%s", path, name);
            walk_path(w, child.buf, depth + 1);
            strbuf_release(&child);
        }
        free(entries[i]);
    }
    free(entries);
}

static void walk_path(struct cmd_walk *w, const char *path, int depth)
{
    struct stat st;
    int rc = depth == 0 ? stat(path, &st) : lstat(path, &st);
    if (rc != 0) {
        fprintf(stderr, "%s: %s: %s\n", w->who, path, strerror(errno));
        w->failed = true;
        return;
    }
    if (S_ISLNK(st.st_mode) && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return; /* no loops through symlinked directories */
    if (S_ISDIR(st.st_mode)) {
        if (depth > WALK_MAX_DEPTH) {
            fprintf(stderr, "%s: %s: directories nested too deep\n", w->who, path);
            w->failed = true;
            return;
        }
        walk_dir(w, path, depth);
    } else if (S_ISREG(st.st_mode)) {
        w->file(w, path, &st);
    }
}

void cmd_walk(struct cmd_walk *w, const char *path)
{
    if (!w->stop)
        walk_path(w, path, 0);
}
