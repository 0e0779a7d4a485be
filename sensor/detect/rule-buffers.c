/* rule-buffers.c - the buffer table (rule-buffers.h). */
#include <string.h>

#include "rule-buffers.h"

#define TS RULE_DIR_TOSERVER
#define TC RULE_DIR_TOCLIENT
#define BOTH RULE_DIR_BOTH
#define TX RULE_BUFF_TX
#define MULTI RULE_BUFF_MULTI
#define KEYWORD RULE_BUFF_KEYWORD

static const struct rule_buffer_info buffers[RULE_BUF_COUNT] = {
    [RULE_BUF_PAYLOAD] = { "pkt_data", NULL, NULL, 0, NULL, BOTH, 0,
        "the packet's L4 payload, or on TCP the reassembled stream" },
    [RULE_BUF_BASE64] = { "base64_data", NULL, NULL, 0, NULL, BOTH, 0,
        "the bytes the rule's base64_decode decoded" },
    [RULE_BUF_HTTP_URI] = { "http.uri", NULL, "http_uri", 'U', "http", TS, TX,
        "the normalised request URI" },
    [RULE_BUF_HTTP_URI_RAW] = { "http.uri.raw", NULL, "http_raw_uri", 'I', "http", TS, TX,
        "the request URI as sent" },
    [RULE_BUF_HTTP_METHOD] = { "http.method", NULL, "http_method", 'M', "http", TS, TX,
        "the request method" },
    [RULE_BUF_HTTP_HOST] = { "http.host", NULL, "http_host", 'W', "http", TS, TX,
        "the Host header, lower case" },
    [RULE_BUF_HTTP_HOST_RAW] = { "http.host.raw", NULL, "http_raw_host", 'Z', "http", TS, TX,
        "the Host header as sent" },
    [RULE_BUF_HTTP_USER_AGENT] = { "http.user_agent", NULL, "http_user_agent", 'V', "http", TS, TX,
        "the User-Agent header" },
    [RULE_BUF_HTTP_REQUEST_LINE] = { "http.request_line", "http_request_line", NULL, 0, "http", TS, TX,
        "the request line, without its CRLF" },
    [RULE_BUF_HTTP_HEADER] = { "http.header", NULL, "http_header", 'H', "http", BOTH, TX,
        "the normalised headers (without Cookie), one \"Name: value\\r\\n\" each" },
    [RULE_BUF_HTTP_HEADER_RAW] = { "http.header.raw", NULL, "http_raw_header", 'D', "http", BOTH, TX,
        "the headers as sent" },
    [RULE_BUF_HTTP_HEADER_NAMES] = { "http.header_names", "http_header_names", NULL, 0, "http", BOTH, TX,
        "the header names, each after \"\\r\\n\", ending with \"\\r\\n\\r\\n\"" },
    [RULE_BUF_HTTP_COOKIE] = { "http.cookie", NULL, "http_cookie", 'C', "http", BOTH, TX,
        "the Cookie (request) or Set-Cookie (response) header" },
    [RULE_BUF_HTTP_REFERER] = { "http.referer", "http_referer", NULL, 0, "http", TS, TX,
        "the Referer header" },
    [RULE_BUF_HTTP_ACCEPT] = { "http.accept", "http_accept", NULL, 0, "http", TS, TX,
        "the Accept header" },
    [RULE_BUF_HTTP_ACCEPT_LANG] = { "http.accept_lang", "http_accept_lang", NULL, 0, "http", TS, TX,
        "the Accept-Language header" },
    [RULE_BUF_HTTP_ACCEPT_ENC] = { "http.accept_enc", "http_accept_enc", NULL, 0, "http", TS, TX,
        "the Accept-Encoding header" },
    [RULE_BUF_HTTP_CONNECTION] = { "http.connection", "http_connection", NULL, 0, "http", BOTH, TX,
        "the Connection header" },
    [RULE_BUF_HTTP_CONTENT_TYPE] = { "http.content_type", "http_content_type", NULL, 0, "http", BOTH, TX,
        "the Content-Type header" },
    [RULE_BUF_HTTP_CONTENT_LEN] = { "http.content_len", "http_content_len", NULL, 0, "http", BOTH, TX,
        "the Content-Length header" },
    [RULE_BUF_HTTP_PROTOCOL] = { "http.protocol", "http_protocol", NULL, 0, "http", BOTH, TX,
        "the protocol of the request or status line, \"HTTP/1.1\"" },
    [RULE_BUF_HTTP_START] = { "http.start", "http_start", NULL, 0, "http", BOTH, TX,
        "the request or status line and the headers, up to the empty line" },
    [RULE_BUF_HTTP_REQUEST_BODY] = { "http.request_body", NULL, "http_client_body", 'P', "http", TS, TX,
        "the request body, dechunked" },
    [RULE_BUF_HTTP_STAT_CODE] = { "http.stat_code", NULL, "http_stat_code", 'S', "http", TC, TX,
        "the response status code, \"200\"" },
    [RULE_BUF_HTTP_STAT_MSG] = { "http.stat_msg", NULL, "http_stat_msg", 'Y', "http", TC, TX,
        "the response status message, \"OK\"" },
    [RULE_BUF_HTTP_RESPONSE_LINE] = { "http.response_line", "http_response_line", NULL, 0, "http", TC, TX,
        "the status line, without its CRLF" },
    [RULE_BUF_HTTP_SERVER] = { "http.server", "http_server", NULL, 0, "http", TC, TX,
        "the Server header" },
    [RULE_BUF_HTTP_LOCATION] = { "http.location", "http_location", NULL, 0, "http", TC, TX,
        "the Location header" },
    [RULE_BUF_HTTP_RESPONSE_BODY] = { "http.response_body", NULL, NULL, 0, "http", TC, TX,
        "the response body, dechunked and decompressed" },
    [RULE_BUF_FILE_DATA] = { "file.data", "file_data", "http_server_body", 'Q', "file", BOTH, TX,
        "the data of a file: an HTTP response or request body, dechunked and decompressed; an SMB file "
        "written or read, put together by offset; an FTP data connection's bytes" },
    [RULE_BUF_HTTP_REQUEST_HEADER] = { "http.request_header", NULL, NULL, 0, "http", TS, TX | MULTI,
        "each request header as \"Name: value\"" },
    [RULE_BUF_HTTP_RESPONSE_HEADER] = { "http.response_header", NULL, NULL, 0, "http", TC, TX | MULTI,
        "each response header as \"Name: value\"" },
    [RULE_BUF_TLS_SNI] = { "tls.sni", "tls_sni", NULL, 0, "tls", TS, TX,
        "the server name of the ClientHello" },
    [RULE_BUF_TLS_CERT_SUBJECT] = { "tls.cert_subject", "tls_cert_subject", NULL, 0, "tls", TC, TX,
        "the server certificate's subject, \"CN=..., O=...\"" },
    [RULE_BUF_TLS_CERT_ISSUER] = { "tls.cert_issuer", "tls_cert_issuer", NULL, 0, "tls", TC, TX,
        "the server certificate's issuer" },
    [RULE_BUF_TLS_CERT_SERIAL] = { "tls.cert_serial", "tls_cert_serial", NULL, 0, "tls", TC, TX,
        "the server certificate's serial, \"0A:1B:...\"" },
    [RULE_BUF_TLS_CERT_FINGERPRINT] = { "tls.cert_fingerprint", "tls_cert_fingerprint", NULL, 0, "tls", TC, TX,
        "the SHA-1 of the server certificate, \"aa:bb:...\"" },
    [RULE_BUF_TLS_CERTS] = { "tls.certs", NULL, NULL, 0, "tls", TC, TX | MULTI,
        "each certificate of the chain, DER" },
    [RULE_BUF_JA3_HASH] = { "ja3.hash", "ja3_hash", NULL, 0, "tls", TS, TX,
        "the JA3 md5 of the ClientHello, 32 hex digits" },
    [RULE_BUF_JA3_STRING] = { "ja3.string", "ja3_string", NULL, 0, "tls", TS, TX,
        "the JA3 string of the ClientHello" },
    [RULE_BUF_JA3S_HASH] = { "ja3s.hash", "ja3s_hash", NULL, 0, "tls", TC, TX,
        "the JA3S md5 of the ServerHello" },
    [RULE_BUF_JA3S_STRING] = { "ja3s.string", "ja3s_string", NULL, 0, "tls", TC, TX,
        "the JA3S string of the ServerHello" },
    [RULE_BUF_DNS_QUERY] = { "dns.query", "dns_query", NULL, 0, "dns", TS, TX | MULTI,
        "each query name of a DNS request" },
    [RULE_BUF_SSH_PROTO] = { "ssh.proto", "ssh_proto", NULL, 0, "ssh", BOTH, TX,
        "the protocol version of the SSH banner, \"2.0\"" },
    [RULE_BUF_SSH_SOFTWARE] = { "ssh.software", "ssh_software", NULL, 0, "ssh", BOTH, TX,
        "the software part of the SSH banner (after \"SSH-2.0-\")" },
    [RULE_BUF_SSH_HASSH] = { "ssh.hassh", NULL, NULL, 0, "ssh", TS, TX,
        "the client's HASSH md5" },
    [RULE_BUF_SSH_HASSH_STRING] = { "ssh.hassh.string", NULL, NULL, 0, "ssh", TS, TX,
        "the client's HASSH string" },
    [RULE_BUF_SSH_HASSH_SERVER] = { "ssh.hassh.server", NULL, NULL, 0, "ssh", TC, TX,
        "the server's HASSH md5" },
    [RULE_BUF_SSH_HASSH_SERVER_STRING] = { "ssh.hassh.server.string", NULL, NULL, 0, "ssh", TC, TX,
        "the server's HASSH string" },
    [RULE_BUF_FILE_MD5] = { "filemd5", NULL, NULL, 0, "file", BOTH, TX | KEYWORD,
        "the MD5 of a complete file" },
    [RULE_BUF_FILE_SHA1] = { "filesha1", NULL, NULL, 0, "file", BOTH, TX | KEYWORD,
        "the SHA-1 of a complete file" },
    [RULE_BUF_FILE_SHA256] = { "filesha256", NULL, NULL, 0, "file", BOTH, TX | KEYWORD,
        "the SHA-256 of a complete file" },
    [RULE_BUF_FILE_NAME] = { "file.name", NULL, NULL, 0, "file", BOTH, TX,
        "the name of a file: an HTTP body's (Content-Disposition filename, else the URI path), "
        "an SMB file's (its CREATE's), an FTP data connection's (the STOR or RETR argument)" },
};

const struct rule_buffer_info *rule_buffer_info(unsigned b)
{
    return b < RULE_BUF_COUNT ? &buffers[b] : NULL;
}

const char *rule_buffer_name(enum rule_buffer b)
{
    if ((unsigned)b >= RULE_BUF_COUNT)
        return "?";
    return b == RULE_BUF_PAYLOAD ? "payload" : buffers[b].name;
}

int rule_buffer_by_name(const char *name)
{
    for (int b = 1; b < RULE_BUF_COUNT; b++)
        if (!(buffers[b].flags & KEYWORD) &&
            (strcmp(buffers[b].name, name) == 0 || (buffers[b].alias && strcmp(buffers[b].alias, name) == 0)))
            return b;
    return -1;
}

int rule_buffer_by_legacy(const char *modifier)
{
    for (int b = 1; b < RULE_BUF_COUNT; b++)
        if (buffers[b].legacy && strcmp(buffers[b].legacy, modifier) == 0)
            return b;
    return -1;
}

int rule_buffer_by_pcre_flag(char flag)
{
    for (int b = 1; b < RULE_BUF_COUNT; b++)
        if (buffers[b].pcre == flag)
            return b;
    return -1;
}

int rule_buffer_proto_fits(const char *bp, const char *proto, int app_layer)
{
    static const char *const file_carriers[] = { "http", "smtp", "ftp-data", "smb", "nfs" };

    if (bp == NULL || !app_layer)
        return 1;
    if (strcmp(bp, proto) == 0)
        return 1;
    if (strcmp(bp, "tls") == 0)
        return strcmp(proto, "quic") == 0;
    if (strcmp(bp, "file") != 0)
        return 0;
    for (size_t i = 0; i < sizeof file_carriers / sizeof file_carriers[0]; i++)
        if (strcmp(proto, file_carriers[i]) == 0)
            return 1;
    return 0;
}
