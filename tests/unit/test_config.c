/* Unit tests for lib/config: defaults, file, environment, _FILE secrets,
 * validation messages naming key, value and range, masking, the sample. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/banned.h"

/* A writable environment entry ("NAME=value") for the envp arrays below. */
#define ENV(s) ((char[]){ s })

static char tmpdir[] = "/tmp/dmarcd-config-test-XXXXXX";

static char *write_file(const char *name, const char *content)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    return path;
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Finds the problem about key; NULL if none. */
static const struct config_problem *problem_for(const struct config_problems *p, const char *key)
{
    for (size_t i = 0; i < p->count; i++) {
        if (strcmp(p->items[i].key, key) == 0)
            return &p->items[i];
    }
    return NULL;
}

static void test_defaults(void **state)
{
    (void)state;
    struct config cfg;
    struct config_problems probs;
    char *env[] = { NULL };
    config_init(&cfg);
    config_problems_init(&probs);
    assert_int_equal(config_load(&cfg, NULL, env, &probs), DMARCD_OK);
    assert_int_equal(probs.count, 0);
    assert_string_equal(config_get_str(&cfg, CONFIG_REDIS_URL), "redis://127.0.0.1:6379/0");
    assert_string_equal(config_get_str(&cfg, CONFIG_API_LISTEN), "127.0.0.1:8080");
    assert_null(config_get_str(&cfg, CONFIG_DATABASE_URL));
    assert_int_equal(config_get_int(&cfg, CONFIG_WORKER_THREADS), 2);
    assert_int_equal(config_get_log_level(&cfg), LOG_LEVEL_INFO);
    assert_int_equal(config_require(&cfg, CONFIG_DATABASE_URL, "dmarcd import", &probs),
                     DMARCD_E_CONFIG);
    assert_non_null(strstr(probs.items[0].message, "DMARCD_DATABASE_URL"));
    config_problems_release(&probs);
    config_release(&cfg);
}

static void test_file_then_env_wins(void **state)
{
    (void)state;
    struct config cfg;
    struct config_problems probs;
    const char *path = write_file("a.conf", "# comment\n\nworker_threads = 8\n"
                                            "log_level = \"debug\"\r\n"
                                            "smtp_domains = reports.example.com, dmarc.example.net\n");
    char *env[] = { ENV("DMARCD_WORKER_THREADS=16"), ENV("PATH=/bin"), NULL };
    config_init(&cfg);
    config_problems_init(&probs);
    assert_int_equal(config_load(&cfg, path, env, &probs), DMARCD_OK);
    assert_int_equal(config_get_int(&cfg, CONFIG_WORKER_THREADS), 16);
    assert_int_equal(cfg.values[CONFIG_WORKER_THREADS].source, CONFIG_FROM_ENV);
    assert_int_equal(config_get_log_level(&cfg), LOG_LEVEL_DEBUG);
    assert_int_equal(cfg.values[CONFIG_LOG_LEVEL].source, CONFIG_FROM_FILE);
    assert_string_equal(cfg.file, path);
    config_problems_release(&probs);
    config_release(&cfg);
}

static void test_config_path_from_env(void **state)
{
    (void)state;
    struct config cfg;
    struct config_problems probs;
    char var[300];
    const char *path = write_file("b.conf", "api_listen = 0.0.0.0:9090\n");
    snprintf(var, sizeof(var), "DMARCD_CONFIG=%s", path);
    char *env[] = { var, NULL };
    config_init(&cfg);
    config_problems_init(&probs);
    assert_int_equal(config_load(&cfg, NULL, env, &probs), DMARCD_OK);
    assert_string_equal(config_get_str(&cfg, CONFIG_API_LISTEN), "0.0.0.0:9090");
    config_problems_release(&probs);
    config_release(&cfg);
}

static void test_every_bad_key_named(void **state)
{
    (void)state;
    struct config cfg;
    struct config_problems probs;
    const char *path = write_file("bad.conf", "worker_threads = 0\nno_such_key = 1\njunk line\n");
    char *env[] = { ENV("DMARCD_LOG_LEVEL=loud"),
                    ENV("DMARCD_DATABASE_URL=mariadb://u:hunter2@h:99999/d"),
                    ENV("DMARCD_API_LISTEN=nowhere"),
                    ENV("DMARCD_SMTP_DOMAINS=ok.example,-bad-.example"),
                    ENV("DMARCD_DATABSE_URL=typo"), NULL };
    config_init(&cfg);
    config_problems_init(&probs);
    assert_int_equal(config_load(&cfg, path, env, &probs), DMARCD_E_CONFIG);

    const struct config_problem *p = problem_for(&probs, "worker_threads");
    assert_non_null(p);
    assert_string_equal(p->value, "0");
    assert_non_null(strstr(p->message, "from 1 to 64"));
    assert_non_null(strstr(p->origin, "bad.conf"));

    p = problem_for(&probs, "log_level");
    assert_non_null(p);
    assert_string_equal(p->value, "loud");
    assert_non_null(strstr(p->message, "debug|info|warn|error"));
    assert_string_equal(p->origin, "environment DMARCD_LOG_LEVEL");

    p = problem_for(&probs, "database_url");
    assert_non_null(p);
    assert_null(strstr(p->value, "hunter2")); /* the password never shows */
    assert_non_null(strstr(p->value, "***"));

    assert_non_null(problem_for(&probs, "api_listen"));
    assert_non_null(problem_for(&probs, "smtp_domains"));
    assert_non_null(problem_for(&probs, "no_such_key"));
    assert_non_null(problem_for(&probs, "junk line"));
    p = problem_for(&probs, "DMARCD_DATABSE_URL");
    assert_non_null(p);
    assert_false(p->fatal);
    assert_int_equal(config_problems_fatal(&probs), probs.count - 1);
    config_problems_release(&probs);
    config_release(&cfg);
}

static void test_file_form_secret(void **state)
{
    (void)state;
    struct config cfg;
    struct config_problems probs;
    char var[300];
    struct strbuf shown;
    const char *path = write_file("db_url", "mariadb://dmarcd:s3cret@127.0.0.1:3406/dmarc\n");
    snprintf(var, sizeof(var), "DMARCD_DATABASE_URL_FILE=%s", path);
    char *env[] = { var, ENV("DMARCD_REDIS_URL_FILE=/nonexistent/secret"), NULL };
    config_init(&cfg);
    config_problems_init(&probs);
    strbuf_init(&shown, 0);
    assert_int_equal(config_load(&cfg, NULL, env, &probs), DMARCD_E_CONFIG);
    assert_string_equal(config_get_str(&cfg, CONFIG_DATABASE_URL),
                        "mariadb://dmarcd:s3cret@127.0.0.1:3406/dmarc");
    assert_true(cfg.values[CONFIG_DATABASE_URL].via_file);
    config_describe_value(&cfg, CONFIG_DATABASE_URL, &shown);
    assert_string_equal(shown.buf, "mariadb://dmarcd:***@127.0.0.1:3406/dmarc");
    const struct config_problem *p = problem_for(&probs, "redis_url");
    assert_non_null(p);
    assert_non_null(strstr(p->message, "cannot read value file"));
    strbuf_release(&shown);
    config_problems_release(&probs);
    config_release(&cfg);
}

static void test_missing_file(void **state)
{
    (void)state;
    struct config cfg;
    struct config_problems probs;
    char *env[] = { NULL };
    config_init(&cfg);
    config_problems_init(&probs);
    assert_int_equal(config_load(&cfg, "/nonexistent/dmarcd.conf", env, &probs), DMARCD_E_CONFIG);
    assert_non_null(problem_for(&probs, "config"));
    config_problems_release(&probs);
    config_release(&cfg);
}

static void test_sample_documents_every_key(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    config_write_sample(f);
    fclose(f);
    for (int k = 0; k < CONFIG_KEY_COUNT; k++) {
        char line[128];
        snprintf(line, sizeof(line), "# %s =", config_key_name((enum config_key)k));
        assert_non_null(strstr(text, line));
    }
    assert_non_null(strstr(text, "DMARCD_WORKER_THREADS; range 1-64"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_file_then_env_wins),
        cmocka_unit_test(test_config_path_from_env),
        cmocka_unit_test(test_every_bad_key_named),
        cmocka_unit_test(test_file_form_secret),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_sample_documents_every_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
