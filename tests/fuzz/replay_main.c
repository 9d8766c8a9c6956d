/*
 * replay_main.c - a main() for the fuzz targets when they are built
 * without libFuzzer (gcc, sanitizer builds): runs the target once over
 * each file named on the command line (directories are walked), so every
 * seed and every past crash input is a regression test under ASan/UBSan.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/strbuf.h"
#include "lib/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int files;

static void replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct strbuf sb;
    char chunk[65536];
    size_t n;
    if (!f)
        return;
    strbuf_init(&sb, 0);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        strbuf_add(&sb, chunk, n);
    fclose(f);
    LLVMFuzzerTestOneInput((const uint8_t *)sb.buf, sb.len);
    strbuf_release(&sb);
    files++;
}

static void replay_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        replay_file(path);
        return;
    }
    DIR *d = opendir(path);
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        struct strbuf child;
        strbuf_init(&child, 0);
        strbuf_addf(&child, "%s/%s", path, e->d_name);
        replay_path(child.buf);
        strbuf_release(&child);
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        replay_path(argv[i]);
    printf("replayed %d input(s)\n", files);
    return 0;
}
