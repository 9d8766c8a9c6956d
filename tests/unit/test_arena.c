/* Unit tests for lib/arena: alignment, budget, reset reuse, big requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/banned.h"

static void test_alloc_aligned_and_distinct(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 1 << 20);
    char *p = arena_alloc(&a, 3);
    char *q = arena_alloc(&a, 5);
    assert_non_null(p);
    assert_non_null(q);
    assert_int_equal((uintptr_t)p % 8, 0);
    assert_int_equal((uintptr_t)q % 8, 0);
    assert_true(q >= p + 3);
    memset(p, 'x', 3);
    memset(q, 'y', 5);
    assert_int_equal(p[2], 'x');
    arena_release(&a);
}

static void test_strndup(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 1024);
    char *s = arena_strndup(&a, "reject-and-more", 6);
    assert_string_equal(s, "reject");
    assert_string_equal(arena_slicedup(&a, slice_from_cstr("")), "");
    arena_release(&a);
}

static void test_budget(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 64);
    assert_non_null(arena_alloc(&a, 60));
    assert_null(arena_alloc(&a, 8));
    assert_null(arena_alloc(&a, SIZE_MAX));
    arena_reset(&a);
    assert_non_null(arena_alloc(&a, 64));
    assert_null(arena_alloc(&a, 1));
    arena_release(&a);
}

static void test_reset_reuses_and_big_requests(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 64u << 20);
    char *first = arena_alloc(&a, 16);
    char *big = arena_alloc(&a, 1u << 20);   /* larger than a block */
    assert_non_null(big);
    memset(big, 1, 1u << 20);
    for (int i = 0; i < 10000; i++)
        assert_non_null(arena_alloc(&a, 100));
    arena_reset(&a);
    assert_int_equal(a.used, 0);
    char *again = arena_alloc(&a, 16);
    assert_non_null(again);
    (void)first;
    arena_reset(&a);
    arena_release(&a);
    arena_release(&a); /* releasing twice is harmless */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_aligned_and_distinct),
        cmocka_unit_test(test_strndup),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_reset_reuses_and_big_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
