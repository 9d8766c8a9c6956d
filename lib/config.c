/*
 * config.c - loading and validating the configuration table of config.h.
 *
 * Loading never stops at the first problem: every bad key is collected
 * with where it came from and what is allowed, so one `dmarcd config check`
 * shows an operator everything to fix. Secret values are masked before
 * they are copied into a problem, so problems are always safe to print.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "limits.h"
#include "url.h"
#include "xalloc.h"
#include "banned.h"

struct config_def {
    const char *key;
    enum config_type type;
    int64_t min, max;
    const char *default_value;
    const char *allowed;
    bool secret;
    const char *description;
};

static const struct config_def config_defs[CONFIG_KEY_COUNT] = {
#define DMARCD_CONFIG_DEF(id, k, t, lo, hi, def, allow, sec, desc)                                 \
    [id] = { .key = k, .type = t, .min = lo, .max = hi, .default_value = def, .allowed = allow,   \
             .secret = sec, .description = desc },
    DMARCD_CONFIG_KEYS(DMARCD_CONFIG_DEF)
#undef DMARCD_CONFIG_DEF
};

/* DMARCD_ variables that are not configuration keys but are used by tools. */
static const char *const env_not_keys[] = { "DMARCD_CONFIG", "DMARCD_RUN_DIR", "DMARCD_DB_PORT",
                                            "DMARCD_REDIS_PORT", NULL };

void config_init(struct config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
}

void config_release(struct config *cfg)
{
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        char *t = cfg->values[i].text;
        if (t) {
            explicit_bzero(t, strlen(t));
            free(t);
        }
    }
    free(cfg->file);
    config_init(cfg);
}

void config_problems_init(struct config_problems *probs)
{
    memset(probs, 0, sizeof(*probs));
}

void config_problems_release(struct config_problems *probs)
{
    for (size_t i = 0; i < probs->count; i++) {
        free(probs->items[i].key);
        free(probs->items[i].origin);
        free(probs->items[i].value);
        free(probs->items[i].message);
    }
    free(probs->items);
    config_problems_init(probs);
}

size_t config_problems_fatal(const struct config_problems *probs)
{
    size_t n = 0;
    for (size_t i = 0; i < probs->count; i++)
        n += probs->items[i].fatal;
    return n;
}

static void problem_add(struct config_problems *probs, bool fatal, const char *key,
                        const char *origin, const char *value, const char *message)
{
    if (probs->count == probs->alloc) {
        probs->alloc = probs->alloc ? probs->alloc * 2 : 8;
        probs->items = xreallocarray(probs->items, probs->alloc, sizeof(*probs->items));
    }
    struct config_problem *p = &probs->items[probs->count++];
    p->key = xstrdup(key);
    p->origin = xstrdup(origin);
    p->value = value ? xstrdup(value) : NULL;
    p->message = xstrdup(message);
    p->fatal = fatal;
}

const char *config_key_name(enum config_key key)
{
    return (unsigned)key < CONFIG_KEY_COUNT ? config_defs[key].key : "unknown";
}

/* Appends the environment variable name of key to out. */
static void env_name(enum config_key key, bool file_form, struct strbuf *out)
{
    (void)strbuf_addstr(out, "DMARCD_");
    for (const char *p = config_defs[key].key; *p; p++) {
        char c = *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        (void)strbuf_addch(out, c);
    }
    if (file_form)
        (void)strbuf_addstr(out, "_FILE");
}

static const char *env_lookup(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (; envp && *envp; envp++) {
        if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
            return *envp + n + 1;
    }
    return NULL;
}

/* Reads a whole small file (config file or secret) into a strbuf. */
static enum dmarcd_err read_small_file(const char *path, size_t cap, struct strbuf *out,
                                       const char **why)
{
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    enum dmarcd_err rc = DMARCD_OK;

    strbuf_init(out, cap);
    if (!f) {
        *why = strerror(errno);
        return DMARCD_E_IO;
    }
    for (;;) {
        size_t n = fread(chunk, 1, sizeof(chunk), f);
        if (n && strbuf_add(out, chunk, n)) {
            *why = "file too large";
            rc = DMARCD_E_TOO_BIG;
            break;
        }
        if (n < sizeof(chunk)) {
            if (ferror(f)) {
                *why = "read error";
                rc = DMARCD_E_IO;
            }
            break;
        }
    }
    fclose(f);
    return rc;
}

static void mask_for_display(enum config_key key, const char *value, struct strbuf *out)
{
    strbuf_reset(out);
    if (!config_defs[key].secret) {
        (void)strbuf_addstr(out, value);
        return;
    }
    if (config_defs[key].type == CONFIG_TYPE_DATABASE_URL ||
        config_defs[key].type == CONFIG_TYPE_REDIS_URL)
        url_mask_password(value, out);
    else
        (void)strbuf_addstr(out, "***");
}

/*
 * Stores a value for key from source. With file_form, `value` is a path
 * whose content is the value (one trailing newline dropped).
 */
static void set_value(struct config *cfg, enum config_key key, const char *value, bool file_form,
                      enum config_source source, const char *origin,
                      struct config_problems *probs)
{
    struct config_value *v = &cfg->values[key];
    struct strbuf content;
    const char *why = NULL;

    if (file_form) {
        if (read_small_file(value, DMARCD_MAX_CONFIG_VALUE_BYTES, &content, &why)) {
            struct strbuf msg;
            strbuf_init(&msg, 0);
            (void)strbuf_addf(&msg, "cannot read value file: %s", why);
            problem_add(probs, true, config_defs[key].key, origin, value, msg.buf);
            strbuf_release(&msg);
            strbuf_release(&content);
            return;
        }
        if (content.len && content.buf[content.len - 1] == '\n')
            strbuf_setlen(&content, content.len - 1);
        if (content.len && content.buf[content.len - 1] == '\r')
            strbuf_setlen(&content, content.len - 1);
    } else {
        strbuf_init(&content, 0);
        (void)strbuf_addstr(&content, value);
    }
    if (v->text) {
        explicit_bzero(v->text, strlen(v->text));
        free(v->text);
    }
    v->text = strbuf_detach(&content, NULL);
    v->source = source;
    v->via_file = file_form;
}

/* Finds the key for a name, also in its `_file` form. */
static bool key_lookup(struct slice name, enum config_key *key, bool *file_form)
{
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        struct slice k = slice_from_cstr(config_defs[i].key);
        if (slice_eq(name, k)) {
            *key = (enum config_key)i;
            *file_form = false;
            return true;
        }
        if (name.len == k.len + 5 && memcmp(name.ptr, k.ptr, k.len) == 0 &&
            memcmp(name.ptr + k.len, "_file", 5) == 0) {
            *key = (enum config_key)i;
            *file_form = true;
            return true;
        }
    }
    return false;
}

/* Unquotes "value" (no escapes inside: values never need them). */
static struct slice unquote(struct slice v)
{
    if (v.len >= 2 && v.ptr[0] == '"' && v.ptr[v.len - 1] == '"')
        return slice_make(v.ptr + 1, v.len - 2);
    return v;
}

static void parse_file_line(struct config *cfg, struct slice line, const char *origin,
                            struct config_problems *probs)
{
    struct slice name, value;
    enum config_key key;
    bool file_form;

    line = slice_trim(line);
    if (!line.len || line.ptr[0] == '#')
        return;
    if (!slice_split(line, '=', &name, &value)) {
        char *text = xstrndup(line.ptr, line.len);
        problem_add(probs, true, text, origin, NULL, "expected `key = value`");
        free(text);
        return;
    }
    name = slice_trim(name);
    value = unquote(slice_trim(value));
    char *key_text = xstrndup(name.ptr, name.len);
    char *value_text = xstrndup(value.ptr, value.len);
    if (key_lookup(name, &key, &file_form))
        set_value(cfg, key, value_text, file_form, CONFIG_FROM_FILE, origin, probs);
    else
        problem_add(probs, true, key_text, origin, NULL, "unknown configuration key");
    explicit_bzero(value_text, strlen(value_text));
    free(value_text);
    free(key_text);
}

static void load_file(struct config *cfg, const char *path, struct config_problems *probs)
{
    struct strbuf content, origin;
    const char *why = NULL;

    strbuf_init(&origin, 0);
    if (read_small_file(path, DMARCD_MAX_CONFIG_FILE_BYTES, &content, &why)) {
        (void)strbuf_addf(&origin, "file %s", path);
        problem_add(probs, true, "config", origin.buf, NULL, why);
        goto out;
    }
    cfg->file = xstrdup(path);
    struct slice rest = strbuf_slice(&content), line;
    for (unsigned lineno = 1; rest.len; lineno++) {
        slice_split(rest, '\n', &line, &rest);
        strbuf_reset(&origin);
        (void)strbuf_addf(&origin, "file %s:%u", path, lineno);
        parse_file_line(cfg, line, origin.buf, probs);
    }
out:
    explicit_bzero(content.buf, content.len);
    strbuf_release(&content);
    strbuf_release(&origin);
}

static void load_env(struct config *cfg, char *const *envp, struct config_problems *probs)
{
    struct strbuf name, origin;
    strbuf_init(&name, 0);
    strbuf_init(&origin, 0);
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        for (int file_form = 0; file_form <= 1; file_form++) {
            strbuf_reset(&name);
            env_name((enum config_key)i, file_form, &name);
            const char *value = env_lookup(envp, name.buf);
            if (!value)
                continue;
            strbuf_reset(&origin);
            (void)strbuf_addf(&origin, "environment %s", name.buf);
            set_value(cfg, (enum config_key)i, value, file_form, CONFIG_FROM_ENV, origin.buf,
                      probs);
        }
    }
    strbuf_release(&name);
    strbuf_release(&origin);
}

static bool env_is_known(struct slice name)
{
    enum config_key key;
    bool file_form;
    struct slice rest = slice_make(name.ptr + 7, name.len - 7);
    char lower[128];

    for (const char *const *k = env_not_keys; *k; k++) {
        if (slice_eq_cstr(name, *k))
            return true;
    }
    if (slice_starts_with(name, "DMARCD_TEST_") || rest.len >= sizeof(lower))
        return true;
    for (size_t i = 0; i < rest.len; i++) {
        char c = rest.ptr[i];
        lower[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    return key_lookup(slice_make(lower, rest.len), &key, &file_form);
}

static void check_unknown_env(char *const *envp, struct config_problems *probs)
{
    for (; envp && *envp; envp++) {
        struct slice name, value;
        if (!slice_starts_with(slice_from_cstr(*envp), "DMARCD_"))
            continue;
        slice_split(slice_from_cstr(*envp), '=', &name, &value);
        if (env_is_known(name))
            continue;
        char *text = xstrndup(name.ptr, name.len);
        problem_add(probs, false, text, "environment", NULL,
                    "unknown DMARCD_ variable, ignored (a typo?)");
        free(text);
    }
}

static bool domain_ok(struct slice d)
{
    d = slice_trim(d);
    if (d.len == 0 || d.len > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < d.len; i++) {
        char c = d.ptr[i];
        if (c == '.') {
            if (label == 0 || d.ptr[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  (c == '-' && label > 0);
        if (!ok || ++label > 63)
            return false;
    }
    return label > 0 && d.ptr[d.len - 1] != '-';
}

static bool domain_list_ok(const char *text)
{
    struct slice rest = slice_from_cstr(text), item;
    if (!slice_trim(rest).len)
        return true;
    for (;;) {
        bool more = slice_split(rest, ',', &item, &rest);
        if (!domain_ok(item))
            return false;
        if (!more)
            return true;
    }
}

static bool enum_ok(const char *allowed, const char *value)
{
    struct slice rest = slice_from_cstr(allowed), word;
    for (;;) {
        bool more = slice_split(rest, '|', &word, &rest);
        if (slice_eq_cstr(word, value))
            return true;
        if (!more)
            return false;
    }
}

/* Validates one value; on failure fills why with what is allowed. */
static bool validate_value(enum config_key key, struct config_value *v, struct strbuf *why)
{
    const struct config_def *d = &config_defs[key];
    struct db_url db;
    struct redis_url redis;
    char *host = NULL;
    unsigned port;

    strbuf_reset(why);
    switch (d->type) {
    case CONFIG_TYPE_STRING:
        return true;
    case CONFIG_TYPE_INT:
        if (slice_to_i64(slice_from_cstr(v->text), &v->number) && v->number >= d->min &&
            v->number <= d->max)
            return true;
        (void)strbuf_addf(why, "expected an integer from %lld to %lld", (long long)d->min,
                          (long long)d->max);
        return false;
    case CONFIG_TYPE_ENUM:
        if (enum_ok(d->allowed, v->text))
            return true;
        (void)strbuf_addf(why, "expected one of %s", d->allowed);
        return false;
    case CONFIG_TYPE_DATABASE_URL:
        if (db_url_parse(v->text, &db, why))
            return false;
        db_url_release(&db);
        return true;
    case CONFIG_TYPE_REDIS_URL:
        if (redis_url_parse(v->text, &redis, why))
            return false;
        redis_url_release(&redis);
        return true;
    case CONFIG_TYPE_HOSTPORT:
        if (hostport_parse(v->text, &host, &port, why))
            return false;
        free(host);
        return true;
    case CONFIG_TYPE_DOMAIN_LIST:
        if (domain_list_ok(v->text))
            return true;
        (void)strbuf_addstr(why, "expected comma-separated domain names (e.g. "
                                 "reports.example.com,dmarc.example.net)");
        return false;
    case CONFIG_TYPE_PATH:
        if (v->text[0] && access(v->text, R_OK) == 0)
            return true;
        (void)strbuf_addf(why, "expected a readable file: %s",
                          v->text[0] ? strerror(errno) : "empty path");
        return false;
    }
    return false;
}

static void origin_of(const struct config *cfg, enum config_key key, struct strbuf *out)
{
    const struct config_value *v = &cfg->values[key];
    strbuf_reset(out);
    switch (v->source) {
    case CONFIG_FROM_ENV:
        (void)strbuf_addstr(out, "environment ");
        env_name(key, v->via_file, out);
        break;
    case CONFIG_FROM_FILE:
        (void)strbuf_addf(out, "file %s", cfg->file ? cfg->file : "?");
        break;
    case CONFIG_FROM_DEFAULT:
        (void)strbuf_addstr(out, "default");
        break;
    }
}

static void validate_all(struct config *cfg, struct config_problems *probs)
{
    struct strbuf why, origin, shown;
    strbuf_init(&why, 0);
    strbuf_init(&origin, 0);
    strbuf_init(&shown, 0);
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        struct config_value *v = &cfg->values[i];
        if (!v->text || validate_value((enum config_key)i, v, &why))
            continue;
        origin_of(cfg, (enum config_key)i, &origin);
        mask_for_display((enum config_key)i, v->text, &shown);
        problem_add(probs, true, config_defs[i].key, origin.buf, shown.buf, why.buf);
    }
    strbuf_release(&why);
    strbuf_release(&origin);
    strbuf_release(&shown);
}

enum dmarcd_err config_load(struct config *cfg, const char *path, char *const *envp,
                            struct config_problems *probs)
{
    size_t fatal_before = config_problems_fatal(probs);

    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        if (config_defs[i].default_value && !cfg->values[i].text) {
            cfg->values[i].text = xstrdup(config_defs[i].default_value);
            cfg->values[i].source = CONFIG_FROM_DEFAULT;
        }
    }
    if (!path)
        path = env_lookup(envp, "DMARCD_CONFIG");
    if (path && path[0])
        load_file(cfg, path, probs);
    load_env(cfg, envp, probs);
    check_unknown_env(envp, probs);
    validate_all(cfg, probs);
    return config_problems_fatal(probs) > fatal_before ? DMARCD_E_CONFIG : DMARCD_OK;
}

enum dmarcd_err config_require(const struct config *cfg, enum config_key key, const char *who,
                               struct config_problems *probs)
{
    struct strbuf msg, name;
    if (cfg->values[key].text && cfg->values[key].text[0])
        return DMARCD_OK;
    strbuf_init(&msg, 0);
    strbuf_init(&name, 0);
    env_name(key, false, &name);
    (void)strbuf_addf(&msg, "required by %s but not set (set %s or `%s` in the config file)",
                      who, name.buf, config_defs[key].key);
    problem_add(probs, true, config_defs[key].key, "missing", NULL, msg.buf);
    strbuf_release(&msg);
    strbuf_release(&name);
    return DMARCD_E_CONFIG;
}

const char *config_get_str(const struct config *cfg, enum config_key key)
{
    return cfg->values[key].text;
}

int64_t config_get_int(const struct config *cfg, enum config_key key)
{
    return cfg->values[key].number;
}

enum log_level config_get_log_level(const struct config *cfg)
{
    enum log_level level = LOG_LEVEL_INFO;
    const char *text = cfg->values[CONFIG_LOG_LEVEL].text;
    if (text)
        (void)log_level_parse(text, &level);
    return level;
}

void config_describe_value(const struct config *cfg, enum config_key key, struct strbuf *out)
{
    const char *text = cfg->values[key].text;
    strbuf_reset(out);
    if (!text) {
        (void)strbuf_addstr(out, "(unset)");
        return;
    }
    mask_for_display(key, text, out);
}

void config_problems_print(const struct config_problems *probs, FILE *out)
{
    for (size_t i = 0; i < probs->count; i++) {
        const struct config_problem *p = &probs->items[i];
        fprintf(out, "%s: %s (%s)", p->fatal ? "error" : "warning", p->key, p->origin);
        if (p->value)
            fprintf(out, ": value \"%s\"", p->value);
        fprintf(out, ": %s\n", p->message);
    }
}

/* Writes text as `# ` comment lines of at most ~78 columns. */
static void write_comment(FILE *out, const char *text)
{
    struct slice rest = slice_from_cstr(text), word;
    size_t col = 0;
    for (;;) {
        bool more = slice_split(rest, ' ', &word, &rest);
        if (col && col + 1 + word.len > 76) {
            fputc('\n', out);
            col = 0;
        }
        fputs(col ? " " : "# ", out);
        fwrite(word.ptr, 1, word.len, out);
        col += word.len + 1;
        if (!more)
            break;
    }
    fputc('\n', out);
}

void config_write_sample(FILE *out)
{
    struct strbuf name;
    strbuf_init(&name, 0);
    fputs("# dmarcd configuration. Every key can also be set in the environment as\n"
          "# DMARCD_<KEY> (which wins over this file), or read from a file named by\n"
          "# <key>_file / DMARCD_<KEY>_FILE (for secrets). Check with `dmarcd config check`.\n",
          out);
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        const struct config_def *d = &config_defs[i];
        strbuf_reset(&name);
        env_name((enum config_key)i, false, &name);
        fputc('\n', out);
        write_comment(out, d->description);
        fprintf(out, "# environment: %s", name.buf);
        if (d->type == CONFIG_TYPE_INT)
            fprintf(out, "; range %lld-%lld", (long long)d->min, (long long)d->max);
        if (d->type == CONFIG_TYPE_ENUM)
            fprintf(out, "; one of %s", d->allowed);
        if (d->default_value)
            fprintf(out, "\n# %s = %s\n", d->key, d->default_value);
        else
            fprintf(out, "; no default\n# %s =\n", d->key);
    }
    strbuf_release(&name);
}
