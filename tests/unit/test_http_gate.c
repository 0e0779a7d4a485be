/* test_http_gate.c - the request framing checks of the HTTP gate
 * (sensor/daemon/http-gate.c): a head is whole at its blank line; duplicate
 * or conflicting lengths, any Transfer-Encoding, folded lines, oversized
 * heads and bodies are refused; near misses pass. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "http-gate.h"

static int check(const char *req, size_t max_body, size_t *head, size_t *body)
{
    return http_gate_check_head(req, strlen(req), 8192, max_body, head, body);
}

static void test_whole_heads(void **state)
{
    size_t h, b;

    (void)state;
    assert_int_equal(check("GET /metrics HTTP/1.1\r\nHost: a\r\n", 0, &h, &b), 0);
    assert_int_equal(h, 0);                                /* not whole yet */
    assert_int_equal(check("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 0, &h, &b), 0);
    assert_int_equal(h, strlen("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"));
    assert_int_equal(b, 0);
    assert_int_equal(check("GET / HTTP/1.0\n\n", 0, &h, &b), 0);
    assert_int_equal(h, 16);
    assert_int_equal(check("POST /api/login HTTP/1.1\r\ncontent-LENGTH:  12 \r\n\r\n{}", 100, &h, &b), 0);
    assert_int_equal(b, 12);
    /* near miss: one Content-Length: 0 on a listener that takes no body */
    assert_int_equal(check("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 0, &h, &b), 0);
}

static void test_refusals(void **state)
{
    size_t h, b;
    char big[9000];

    (void)state;
    assert_int_equal(check("GET / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", 0, &h, &b), 400);
    assert_int_equal(check("POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n", 100,
                           &h, &b), 400);
    assert_int_equal(check("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 100, &h, &b), 411);
    assert_int_equal(check("POST / HTTP/1.1\r\nContent-Length: 4, 4\r\n\r\n", 100, &h, &b), 400);
    assert_int_equal(check("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 100, &h, &b), 400);
    assert_int_equal(check("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", 100, &h, &b), 400);
    assert_int_equal(check("POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 100, &h, &b), 413);
    assert_int_equal(check("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n", 100, &h, &b), 0);
    assert_int_equal(check("GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", 0, &h, &b), 400);
    assert_int_equal(check("\r\n\r\n", 0, &h, &b), 400);
    memset(big, 'a', sizeof big);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    assert_int_equal(http_gate_check_head(big, sizeof big, 8192, 0, &h, &b), 431);
    assert_int_equal(http_gate_check_head(big, 8000, 8192, 0, &h, &b), 0);
}

static void test_cidrs(void **state)
{
    struct lw_cidr *v;
    size_t n;
    char err[128];

    (void)state;
    assert_int_equal(http_gate_parse_cidrs("127.0.0.1, 10.0.0.0/8 ::1", &v, &n, err, sizeof err), 0);
    assert_int_equal(n, 3);
    free(v);
    assert_int_equal(http_gate_parse_cidrs("", &v, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(http_gate_parse_cidrs("10.0.0.0/8, proxy.example", &v, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "proxy.example"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_heads),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_cidrs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
