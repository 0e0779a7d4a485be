/* rule-parse.c - the Suricata rule language: one rule's header and options
 * into a struct rule (rule-load.c reads the files). The keyword handlers
 * live in rule-kw-payload.c and rule-kw-other.c; this file has the header,
 * the option loop, the keyword table (also the keyword list of linkwatch -T
 * --list-keywords and rules/README.md) and the checks that need the whole
 * rule.
 *
 * A rule is parsed option by option in order, as Suricata does: a content
 * belongs to the sticky buffer named before it (the payload when none),
 * content modifiers apply to the last content, and checks that need the
 * whole rule run at the end. Anything we cannot honour exactly refuses the
 * rule with a reason, so a loaded rule never half-matches.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pcre2.h>

#include "config.h"
#include "rule-buffers.h"
#include "rule-hashlist.h"
#include "rule-parse-int.h"
#include "rule-text.h"
#include "util.h"

/* ------------------------------------------------------------------ names */

const char *rule_action_name(enum rule_action a)
{
    switch (a) {
    case RULE_ACTION_ALERT:  return "alert";
    case RULE_ACTION_PASS:   return "pass";
    case RULE_ACTION_DROP:   return "drop";
    case RULE_ACTION_REJECT: return "reject";
    }
    return "?";
}

/* ------------------------------------------------------------------ keyword table */

#define KW(name, fn, val, once, arg, doc, ex) { name, fn, val, once, arg, doc, ex }

static const struct keyword keywords[] = {
    /* meta */
    KW("msg", kw_msg, VAL_NEED, 1, 0, "text of the alert (alert.signature)", "msg:\"LW SCAN TCP SYN scan\";"),
    KW("sid", kw_id, VAL_NEED, 1, 0, "signature id, required, >= 1; gid:sid unique over all loaded files", "sid:9000701;"),
    KW("rev", kw_id, VAL_NEED, 1, 1, "revision (default 0)", "rev:2;"),
    KW("gid", kw_id, VAL_NEED, 1, 2, "generator id (default 1)", "gid:1;"),
    KW("classtype", kw_classtype, VAL_NEED, 1, 0, "a class of classification.config: alert.category and the default priority", "classtype:attempted-recon;"),
    KW("priority", kw_priority, VAL_NEED, 1, 0, "1 (most urgent) .. 255, overrides the class's (default 3): alert.severity", "priority:1;"),
    KW("metadata", kw_metadata, VAL_NEED, 0, 0, "key value pairs, comma-separated, shown in alert.metadata", "metadata:created_at 2026_11_25;"),
    KW("reference", kw_reference, VAL_NEED, 0, 0, "type,value; kept with the rule", "reference:url,attack.mitre.org/techniques/T1040;"),
    KW("target", kw_target, VAL_NEED, 1, 0, "which end is the target: src_ip or dest_ip; fills alert.source and alert.target", "target:dest_ip;"),
    KW("requires", kw_requires, VAL_NEED, 0, 0, "feature F, version OP V[ OP V]: a rule this sensor does not meet is skipped, not an error", "requires:version >= 7.0;"),
    /* payload */
    KW("content", kw_content, VAL_NEED, 0, 0, "bytes in the current buffer; |hex|, ! negates", "content:\"|0d 0a|Authorization|3a 20|Basic \";"),
    KW("uricontent", kw_uricontent, VAL_NEED, 0, 0, "content in http.uri (Snort's spelling)", "uricontent:\"/admin\";"),
    KW("nocase", kw_flagmod, VAL_NONE, 0, RULE_CT_NOCASE, "the content is ASCII case-insensitive", "content:\"pass \"; nocase;"),
    KW("rawbytes", kw_flagmod, VAL_NONE, 0, RULE_CT_RAWBYTES, "accepted, no effect (there is no normalised payload)", "content:\"x\"; rawbytes;"),
    KW("offset", kw_position, VAL_NEED, 0, RULE_CT_OFFSET, "the content starts at byte N or later (N may be a byte variable)", "content:\"SSH-\"; offset:0;"),
    KW("depth", kw_position, VAL_NEED, 0, RULE_CT_DEPTH, "the content ends within N bytes after offset", "content:\"PASS \"; depth:5;"),
    KW("distance", kw_position, VAL_NEED, 0, RULE_CT_DISTANCE, "the content starts N bytes (may be negative) or more after the previous match", "content:\"USER\"; content:\"root\"; distance:1;"),
    KW("within", kw_position, VAL_NEED, 0, RULE_CT_WITHIN, "the content ends at most N bytes after the previous match", "content:\"GET \"; content:\"/admin\"; within:10;"),
    KW("startswith", kw_startswith, VAL_NONE, 0, 0, "the content is at the very start of the buffer (offset 0, depth its length)", "content:\"GET|20|\"; startswith;"),
    KW("endswith", kw_endswith, VAL_NONE, 0, 0, "the content's match ends at the end of the buffer", "content:\".php\"; endswith;"),
    KW("fast_pattern", kw_fast_pattern, VAL_OPT, 0, 0, "use this content for the prefilter; :only, or :offset,length for a part of it", "content:\"mining.subscribe\"; fast_pattern;"),
    KW("pcre", kw_pcre, VAL_NEED, 0, 0, "a PCRE2 regex in the current buffer; flags i s m x A E G R B O and buffer flags", "content:\"USER\"; pcre:\"/^\\s+root\\b/iR\";"),
    KW("isdataat", kw_isdataat, VAL_NEED, 0, 0, "[!]N[,relative]: there is data at byte N (relative: N more bytes after the previous match)", "isdataat:!1,relative;"),
    KW("bsize", kw_bsize, VAL_NEED, 0, 0, "the length of the current sticky buffer: N, <N, >N, <=N, >=N, N<>M (exclusive)", "dns.query; content:\"google.com\"; bsize:10;"),
    KW("pii", kw_pii, VAL_NEED, 0, 0, "linkwatch: TYPE[|TYPE...][, count OP N]: validated personal-data items in the current buffer (cn-id bank-card cn-mobile email passport-cn; OP > >= < <= = !=; default count >= 1); the alert carries the counts, never the values", "http.request_body; pii:cn-id, count >= 10;"),
    KW("dsize", kw_cmp, VAL_NEED, 1, 0, "payload size of the packet: N, <N, >N, <=N, >=N, !N, N<>M (exclusive)", "dsize:>1000;"),
    KW("urilen", kw_urilen, VAL_NEED, 1, 0, "length of http.uri (or of http.uri.raw with ,raw): N, <N, >N, N<>M", "urilen:>200;"),
    KW("byte_test", kw_byte, VAL_NEED, 0, RULE_SM_BYTE_TEST, "N,[!]OP,VALUE,OFFSET[,relative][,big|little][,string,dec|hex|oct][,dce][,bitmask M]: compare a number read from the buffer", "content:\"|00 01 00 02|\"; byte_test:2,=,0x03,2,relative;"),
    KW("byte_jump", kw_byte, VAL_NEED, 0, RULE_SM_BYTE_JUMP, "N,OFFSET[,relative][,multiplier M][,big|little][,string,BASE][,align][,from_beginning|from_end][,post_offset P][,bitmask M]: move the position by a number read", "content:\"Alice\"; byte_jump:2,0; content:\"Bob\";"),
    KW("byte_extract", kw_byte, VAL_NEED, 0, RULE_SM_BYTE_EXTRACT, "N,OFFSET,NAME[,relative][,multiplier M][,big|little][,string[,BASE]][,align 2|4]: read a number into a variable for offset, depth, distance, within, byte_test, byte_jump, isdataat", "content:\"Alice\"; byte_extract:2,0,size; content:\"Bob\"; distance:size; within:3;"),
    KW("byte_math", kw_byte_math, VAL_NEED, 0, 0, "bytes N, offset O, oper + - * / << >>, rvalue V, result NAME[, relative][, endian big|little][, string BASE][, bitmask M]", "byte_math:bytes 2, offset 0, oper +, rvalue 248, result var, relative;"),
    KW("base64_decode", kw_base64_decode, VAL_OPT, 0, 0, "[bytes N][, offset O][, relative]: decode base64 from the buffer for base64_data", "content:\"Authorization: Basic \"; base64_decode:relative;"),
    KW("base64_data", kw_base64_data, VAL_NONE, 0, 0, "the following contents look in what base64_decode decoded", "base64_decode; base64_data; content:\"admin:\";"),
    KW("filemd5", kw_filehash, VAL_NEED, 0, RULE_BUF_FILE_MD5, "[!]FILE: the MD5 of a complete file (an HTTP request or response body, an SMB file, an FTP data connection's file, that closed whole, without gaps) is in the list FILE holds: a hex digest a line, text after it ignored; ! negates; a relative FILE is looked for beside the rules file, then in the configuration's folder", "filemd5:known-bad.md5;"),
    KW("filesha1", kw_filehash, VAL_NEED, 0, RULE_BUF_FILE_SHA1, "[!]FILE: the SHA-1 of a complete file is in the list, as filemd5", "filesha1:known-bad.sha1;"),
    KW("filesha256", kw_filehash, VAL_NEED, 0, RULE_BUF_FILE_SHA256, "[!]FILE: the SHA-256 of a complete file is in the list, as filemd5", "filesha256:!known-good.sha256;"),
    KW("pkt_data", kw_pkt_data, VAL_NONE, 0, 0, "the following contents look in the payload again", "file.data; content:\"x\"; pkt_data; content:\"y\";"),
    /* transforms */
    KW("dotprefix", kw_transform, VAL_NONE, 0, RULE_XF_DOTPREFIX, "transform: put a '.' before the buffer", "dns.query; dotprefix; content:\".microsoft.com\"; endswith;"),
    KW("to_lowercase", kw_transform, VAL_NONE, 0, RULE_XF_TO_LOWERCASE, "transform: ASCII lower case", "http.uri; to_lowercase; content:\"/admin\";"),
    KW("to_uppercase", kw_transform, VAL_NONE, 0, RULE_XF_TO_UPPERCASE, "transform: ASCII upper case", "http.method; to_uppercase; content:\"GET\";"),
    KW("strip_whitespace", kw_transform, VAL_NONE, 0, RULE_XF_STRIP_WHITESPACE, "transform: remove all whitespace (isspace)", "file.data; strip_whitespace; content:\"window.navigate(\";"),
    KW("compress_whitespace", kw_transform, VAL_NONE, 0, RULE_XF_COMPRESS_WHITESPACE, "transform: each run of whitespace becomes one space", "file.data; compress_whitespace; content:\"embrace holistically\";"),
    KW("url_decode", kw_transform, VAL_NONE, 0, RULE_XF_URL_DECODE, "transform: decode %XX escapes and '+' as space", "http.uri; url_decode; content:\"/evil'sqli\";"),
    KW("to_md5", kw_transform, VAL_NONE, 0, RULE_XF_TO_MD5, "transform: the MD5 of the buffer (16 raw bytes)", "http.request_line; to_md5; content:\"|54 A9 7A 8A B0 9C 1B 81 37 25 22 14 51 D3 F9 97|\";"),
    KW("to_sha1", kw_transform, VAL_NONE, 0, RULE_XF_TO_SHA1, "transform: the SHA-1 of the buffer (20 raw bytes)", "http.request_line; to_sha1; content:\"|54A9 7A8A B09C 1B81 3725 2214 51D3 F997 F015 9DD7|\";"),
    KW("to_sha256", kw_transform, VAL_NONE, 0, RULE_XF_TO_SHA256, "transform: the SHA-256 of the buffer (32 raw bytes)", "http.request_line; to_sha256; content:\"|54A9 7A8A B09C 1B81 3725 2214 51D3 F997 F015 9DD7 049E E5AD CED3 945A FC79 7401|\";"),
    KW("header_lowercase", kw_transform, VAL_NONE, 0, RULE_XF_HEADER_LOWERCASE, "transform: header names (before each ':') in lower case", "http.header.raw; header_lowercase; content:\"user-agent:\";"),
    KW("strip_pseudo_headers", kw_transform, VAL_NONE, 0, RULE_XF_STRIP_PSEUDO_HEADERS, "transform: drop header lines whose name starts with ':'", "http.header.raw; strip_pseudo_headers; content:\"host:\";"),
    KW("pcrexform", kw_transform, VAL_NEED, 0, RULE_XF_PCREXFORM, "transform: what the regex's capture group matched (the whole match without a group); unchanged when it does not match", "http.request_line; pcrexform:\"[a-zA-Z]+\\s+(.*)\\s+HTTP\"; content:\"/z4d4kWk.jpg\";"),
    KW("xor", kw_transform, VAL_NEED, 0, RULE_XF_XOR, "transform: XOR with a repeating key given in hex", "http.uri; xor:\"0d0ac8ff\"; content:\"password=\";"),
    /* flow and packet */
    KW("flow", kw_flow, VAL_NEED, 1, 0, "to_server/from_client, to_client/from_server, established, not_established, stateless, only_stream, no_stream", "flow:to_server,established;"),
    KW("flags", kw_flags, VAL_NEED, 1, 0, "TCP flags F S R P A U C E (1=CWR, 2=ECE, 0=none); + these and others, * any, ! not all; after , flags to ignore", "flags:S,12;"),
    KW("ttl", kw_cmp, VAL_NEED, 1, 1, "IP TTL / hop limit: N, <N, >N, <=N, >=N, !N, N<>M", "ttl:<5;"),
    KW("itype", kw_cmp, VAL_NEED, 1, 2, "ICMP type, the same comparisons", "itype:8;"),
    KW("icode", kw_cmp, VAL_NEED, 1, 3, "ICMP code, the same comparisons", "icode:0;"),
    KW("ip_proto", kw_ip_proto, VAL_NEED, 1, 0, "IP protocol number or name (tcp, udp, gre, esp, icmpv6, ...), =, !, <, >", "ip_proto:gre;"),
    KW("tos", kw_cmp, VAL_NEED, 1, 4, "the IPv4 TOS / IPv6 traffic class byte: [!]N (decimal or 0x hex)", "tos:!0x10;"),
    KW("id", kw_cmp, VAL_NEED, 1, 5, "the IPv4 identification field", "id:31337;"),
    KW("fragbits", kw_fragbits, VAL_NEED, 1, 0, "IPv4 flags M (more fragments), D (don't fragment), R (reserved); + * ! as in flags", "fragbits:M;"),
    KW("fragoffset", kw_cmp, VAL_NEED, 1, 6, "the IPv4 fragment offset (8-byte units): [!|<|>]N", "fragoffset:0;"),
    KW("ipopts", kw_ipopts, VAL_NEED, 0, 0, "the IPv4 option is present: rr, eol, nop, ts, sec, esec, lsrr, ssrr, satid, any", "ipopts:lsrr;"),
    KW("seq", kw_cmp, VAL_NEED, 1, 10, "the TCP sequence number", "seq:0;"),
    KW("ack", kw_cmp, VAL_NEED, 1, 11, "the TCP acknowledgement number", "ack:0;"),
    KW("window", kw_cmp, VAL_NEED, 1, 7, "the TCP window: [!]N", "window:55808;"),
    KW("icmp_id", kw_cmp, VAL_NEED, 1, 8, "the ICMP echo identifier", "icmp_id:0;"),
    KW("icmp_seq", kw_cmp, VAL_NEED, 1, 9, "the ICMP echo sequence number", "icmp_seq:0;"),
    KW("icmpv6.mtu", kw_cmp, VAL_NEED, 1, 12, "the MTU of an ICMPv6 Packet Too Big, or of a Router Advertisement's MTU option; no match without one", "icmpv6.mtu:<1280;"),
    KW("stream_size", kw_stream_size, VAL_NEED, 0, 0, "server|client|both|either,OP,N: bytes a TCP side sent (next sequence minus initial); OP < > = != <= >=", "stream_size:client,>,1000;"),
    KW("app-layer-protocol", kw_app_layer_protocol, VAL_NEED, 1, 0, "the flow's application protocol (a header protocol name, failed, unknown), ! negates", "app-layer-protocol:!tls;"),
    KW("ndpi-protocol", kw_ndpi_protocol, VAL_NEED, 1, 0, "linkwatch: the flow's protocol as nDPI names it, ! negates", "ndpi-protocol:TLS.Tor;"),
    KW("geoip", kw_geoip, VAL_NEED, 1, 0, "linkwatch: [src|dst|both|any,][!]CC[,CC...] countries of the packet's addresses", "geoip:dst,!CN;"),
    KW("decode-event", kw_event, VAL_NEED, 0, RULE_EV_DECODE, "a decoder event of the packet; such rules also run on packets the decoder refused or held", "decode-event:ipv6.exthdr_dupl_fh;"),
    KW("stream-event", kw_event, VAL_NEED, 0, RULE_EV_STREAM, "a stream anomaly of this packet: reassembly_overlap_different_data, reassembly_seq_gap, rst_invalid, suspected_rst_inject, pkt_invalid_timestamp", "stream-event:reassembly_overlap_different_data;"),
    KW("app-layer-event", kw_event, VAL_NEED, 0, RULE_EV_APP, "PROTO.EVENT: an anomaly the application-layer parser of PROTO reported in the flow", "app-layer-event:http.invalid_transfer_encoding_value_in_request;"),
    /* application values */
    KW("tls.version", kw_tls_version, VAL_NEED, 0, 0, "the TLS version: 1.0, 1.1, 1.2, 1.3, ssl3 or a number (0x0303), ! negates", "tls.version:1.2;"),
    KW("tls_cert_notbefore", kw_tls_cert_date, VAL_NEED, 0, RULE_VAL_TLS_NOTBEFORE, "the certificate's start of validity: [<|>]YYYY-MM-DD[THH:MM[:SS]], or DATE<>DATE", "tls_cert_notbefore:<2015-10-22;"),
    KW("tls_cert_notafter", kw_tls_cert_date, VAL_NEED, 0, RULE_VAL_TLS_NOTAFTER, "the certificate's end of validity, as tls_cert_notbefore", "tls_cert_notafter:>2030-01-01;"),
    KW("tls_cert_expired", kw_tls_cert_state, VAL_NONE, 0, RULE_VT_EXPIRED, "the certificate had expired at the packet's time", "tls_cert_expired;"),
    KW("tls_cert_valid", kw_tls_cert_state, VAL_NONE, 0, RULE_VT_VALID, "the certificate was valid at the packet's time", "tls_cert_valid;"),
    KW("tls.subject", kw_value_content, VAL_NEED, 0, RULE_BUF_TLS_CERT_SUBJECT, "older form of tls.cert_subject; content:\"VALUE\"", "tls.subject:\"CN=*.googleusercontent.com\";"),
    KW("tls.issuerdn", kw_value_content, VAL_NEED, 0, RULE_BUF_TLS_CERT_ISSUER, "older form of tls.cert_issuer; content:\"VALUE\"", "tls.issuerdn:!\"CN=Google-Internet-Authority\";"),
    KW("tls.fingerprint", kw_value_content, VAL_NEED, 0, RULE_BUF_TLS_CERT_FINGERPRINT, "the certificate's SHA-1 fingerprint is exactly VALUE", "tls.fingerprint:\"4a:a3:66:76:82:cb:6b:23:bb:c3:58:47:23:a4:63:a7:78:a4:a1:18\";"),
    KW("filename", kw_value_content, VAL_NEED, 0, RULE_BUF_FILE_NAME, "older form of file.name; content:\"VALUE\"", "filename:\"invoice.pdf\";"),
    KW("fileext", kw_value_content, VAL_NEED, 0, RULE_BUF_FILE_NAME, "the file name ends in \".VALUE\", any case; file.name; content:\".VALUE\"; endswith; nocase", "fileext:\"exe\";"),
    KW("ftpdata_command", kw_ftpdata_command, VAL_NEED, 0, 0, "stor or retr: the FTP command the ftp-data connection is for", "ftpdata_command:stor;"),
    KW("dns.opcode", kw_dns_opcode, VAL_NEED, 0, 0, "the DNS header's opcode: N or !N", "dns.opcode:!0;"),
    KW("filesize", kw_filesize, VAL_NEED, 0, 0, "the size in bytes of a file (HTTP body, SMB read or write, FTP data connection) once it is closed or truncated: N, <N, >N, N<>M", "filesize:>100000;"),
    /* state */
    KW("flowbits", kw_bits, VAL_NEED, 0, 0, "set|unset|toggle|isset|isnotset,NAME (a|b: any, a&b: all), or noalert; setters run before checkers", "flowbits:set,ET.http.binary; flowbits:noalert;"),
    KW("xbits", kw_bits, VAL_NEED, 0, 1, "set|unset|toggle|isset|isnotset,NAME,track ip_src|ip_dst|ip_pair[,expire S]: bits per address or pair", "xbits:set,scanner,track ip_src,expire 300;"),
    KW("hostbits", kw_bits, VAL_NEED, 0, 1, "as xbits, tracked by ip_src or ip_dst", "hostbits:isset,scanner,track ip_src;"),
    KW("flowint", kw_flowint, VAL_NEED, 0, 0, "NAME,OP[,VALUE]: integer per flow; = + - change it on match, == != < > <= >= isset notset test it", "flowint:logins,+,1;"),
    KW("noalert", kw_noalert, VAL_NONE, 0, 0, "the rule matches (and sets its bits) but writes no alert", "noalert;"),
    KW("tag", kw_tag, VAL_NEED, 0, 0, "session|host[,COUNT,packets|bytes|seconds[,src|dst]]: accepted and checked; the packets Suricata would tag after the alert are not logged (no EVE packet events), the alert is the same", "tag:session,5,packets;"),
    KW("bypass", kw_bypass, VAL_NONE, 0, 0, "after a match, the flow is not inspected any more", "bypass;"),
    KW("prefilter", kw_prefilter, VAL_NONE, 0, 0, "accepted, no effect (Suricata's prefilter hint)", "prefilter;"),
    /* thresholds */
    KW("threshold", kw_threshold, VAL_NEED, 0, 0, "type limit|threshold|both, track by_src|by_dst|by_rule|by_both, count N, seconds S", "threshold:type limit, track by_src, count 1, seconds 60;"),
    KW("detection_filter", kw_threshold, VAL_NEED, 0, 1, "track by_src|by_dst|by_rule|by_both, count N, seconds S: alert after the N-th match", "detection_filter:track by_src, count 20, seconds 10;"),
};

_Static_assert(sizeof keywords / sizeof keywords[0] <= RULE_MAX_SEEN,
               "pctx.seen too small for the keyword table");

/* ------------------------------------------------------------------ keyword list */

/* Writes s with '|' escaped, as a Markdown table cell needs it. */
static void cell(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', out);
        fputc(*s, out);
    }
}

static void list_row(FILE *out, const char *name, const char *doc, const char *ex)
{
    fprintf(out, "| `%s` | ", name);
    cell(out, doc);
    fputs(" | `", out);
    cell(out, ex);
    fputs("` |\n", out);
}

void rule_keywords_print(FILE *out)
{
    char doc[512], ex[160];

    fprintf(out, "| keyword | meaning | example |\n|---|---|---|\n");
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        list_row(out, keywords[i].name, keywords[i].doc, keywords[i].example);
    for (int b = 1; b < RULE_BUF_COUNT; b++) {
        const struct rule_buffer_info *bi = rule_buffer_info((unsigned)b);
        static const char *const dirs[] = { "both directions", "to server", "to client" };

        if (b == RULE_BUF_BASE64 || (bi->flags & RULE_BUFF_KEYWORD))
            continue;
        snprintf(doc, sizeof doc, "sticky buffer%s%s%s: %s (%s, %s%s%s)", bi->alias ? " (also `" : "",
                 bi->alias ? bi->alias : "", bi->alias ? "`)" : "", bi->doc, bi->proto, dirs[bi->dir],
                 (bi->flags & RULE_BUFF_TX) ? ", per transaction" : "",
                 (bi->flags & RULE_BUFF_MULTI) ? ", each one in turn" : "");
        snprintf(ex, sizeof ex, "%s; content:\"x\";", bi->name);
        list_row(out, bi->name, doc, ex);
    }
    for (int b = 1; b < RULE_BUF_COUNT; b++) {
        const struct rule_buffer_info *bi = rule_buffer_info((unsigned)b);

        if (bi->legacy == NULL)
            continue;
        snprintf(doc, sizeof doc, "content modifier: moves the content before it to %s", bi->name);
        snprintf(ex, sizeof ex, "content:\"x\"; %s;", bi->legacy);
        list_row(out, bi->legacy, doc, ex);
    }
}

/* ------------------------------------------------------------------ options */

/* The table row of name, or (in *tmp) a row made for a sticky buffer or a
 * legacy content modifier of the buffer table; NULL when unknown. *idx is
 * the row's index in keywords[] (-1 for a made one). */
static const struct keyword *keyword_find(const char *name, struct keyword *tmp, int *idx)
{
    int b;

    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (strcmp(name, keywords[i].name) == 0) {
            *idx = (int)i;
            return &keywords[i];
        }
    *idx = -1;
    memset(tmp, 0, sizeof *tmp);
    tmp->name = name;
    tmp->val = VAL_NONE;
    if ((b = rule_buffer_by_name(name)) >= 0 && b != RULE_BUF_BASE64) {
        tmp->fn = kw_sticky;
        tmp->arg = b;
        return tmp;
    }
    if ((b = rule_buffer_by_legacy(name)) >= 0) {
        tmp->fn = kw_content_buffer;
        tmp->arg = b;
        return tmp;
    }
    return NULL;
}

/* Runs one "name[:value]" option (NUL-terminated, not trimmed). */
static int parse_option(struct pctx *pc, char *opt)
{
    char *colon = strchr(opt, ':'), *name, *val = NULL;
    const struct keyword *kw;
    struct keyword tmp;
    int i;

    if (colon) {
        *colon = '\0';
        val = rule_trim(colon + 1);
    }
    name = rule_trim(opt);
    if (*name == '\0' && val == NULL)
        return 0;                       /* ";;" */
    if ((kw = keyword_find(name, &tmp, &i)) == NULL)
        return perr(pc, NULL, "keyword '%.60s' is not supported", name);
    if (kw->val == VAL_NONE && val != NULL)
        return perr(pc, NULL, "keyword '%s' takes no value", name);
    if (kw->val == VAL_NEED && (val == NULL || *val == '\0'))
        return perr(pc, NULL, "keyword '%s' needs a value", name);
    if (i >= 0 && kw->once && pc->seen[i]++)
        return perr(pc, NULL, "keyword '%s' given twice", name);
    return kw->fn(pc, kw, val);
}

/* Splits the text between the parentheses at unescaped ';' and parses
 * each option in order. opts is modified. */
static int parse_options(struct pctx *pc, char *opts)
{
    char *p = opts, *start = opts;

    for (;; p++) {
        if (*p == '\\' && p[1] != '\0') {
            p++;
            continue;
        }
        if (*p != ';' && *p != '\0')
            continue;
        if (*p == ';') {
            *p = '\0';
            if (parse_option(pc, start) < 0)
                return -1;
            start = p + 1;
            continue;
        }
        if (*rule_trim(start) != '\0' && parse_option(pc, start) < 0)
            return -1;
        return 0;
    }
}

/* ------------------------------------------------------------------ header */

/* Next blank-separated header token; brackets may hold blanks. The token
 * is NUL-terminated in place. NULL when there is none before '('. */
static char *header_token(char **pp)
{
    char *p = *pp, *start;
    int depth = 0;

    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0' || *p == '(')
        return NULL;
    start = p;
    for (; *p; p++) {
        if (*p == '[')
            depth++;
        else if (*p == ']' && depth > 0)
            depth--;
        else if (depth == 0 && (*p == ' ' || *p == '\t' || *p == '('))
            break;
    }
    if (*p == '(') {
        /* "any any)" never happens; a '(' right after a token ends it */
        memmove(p + 1, p, strlen(p) + 1);
    }
    if (*p)
        *p++ = '\0';
    *pp = p;
    return start;
}

static int parse_action(struct pctx *pc, const char *s)
{
    static const struct { const char *n; uint8_t a; } acts[] = {
        { "alert", RULE_ACTION_ALERT }, { "pass", RULE_ACTION_PASS },
        { "drop", RULE_ACTION_DROP },   { "reject", RULE_ACTION_REJECT },
        { "rejectsrc", RULE_ACTION_REJECT }, { "rejectdst", RULE_ACTION_REJECT },
        { "rejectboth", RULE_ACTION_REJECT },
    };

    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
        if (strcmp(s, acts[i].n) == 0) {
            pc->r->action = acts[i].a;
            return 0;
        }
    return perr(pc, "unknown action", "unknown action '%.60s'", s);
}

static int parse_proto(struct pctx *pc, const char *s)
{
    struct rule *r = pc->r;

    const char *norm;

    if (rp_protocol(s, &norm, &r->ipproto, &r->app_layer, &r->ipver) == 0) {
        snprintf(r->proto, sizeof r->proto, "%s", norm);
        return 0;
    }
    return perr(pc, NULL, "protocol '%.60s' is not supported", s);
}

/* action proto src sport dir dst dport, then *pp points at '('. */
static int parse_header(struct pctx *pc, char **pp)
{
    struct rule *r = pc->r;
    const struct lw_config *cfg = pc->env->cfg;
    char *t[7];

    for (int i = 0; i < 7; i++)
        if ((t[i] = header_token(pp)) == NULL)
            return perr(pc, NULL, "incomplete rule header");
    if (parse_action(pc, t[0]) < 0 || parse_proto(pc, t[1]) < 0)
        return -1;
    if (strcmp(t[4], "->") == 0)
        r->bidir = 0;
    else if (strcmp(t[4], "<>") == 0)
        r->bidir = 1;
    else
        return perr(pc, "bad direction", "bad direction '%.60s'", t[4]);
    if (rule_addrset_parse(&r->src, t[2], cfg, pc->err) < 0 ||
        rule_portset_parse(&r->sport, t[3], cfg, pc->err) < 0 ||
        rule_addrset_parse(&r->dst, t[5], cfg, pc->err) < 0 ||
        rule_portset_parse(&r->dport, t[6], cfg, pc->err) < 0)
        return -1;
    if (r->ipproto == 1 && (!r->sport.any || !r->dport.any))
        return perr(pc, NULL, "icmp rules take 'any' ports");
    return 0;
}

/* ------------------------------------------------------------------ whole-rule checks */

/* Sticky buffers come from one application protocol, which must fit the
 * header's (a plain ip/tcp/udp header fits any); their directions must
 * agree with each other and with the flow keyword. Sets r->dir. */
static int check_buffers(struct pctx *pc)
{
    struct rule *r = pc->r;
    const char *want = NULL;
    int wbuf = 0, dirbuf = 0;

    if (r->flow & RULE_FLOW_TO_SERVER)
        r->dir = RULE_DIR_TOSERVER;
    else if (r->flow & RULE_FLOW_TO_CLIENT)
        r->dir = RULE_DIR_TOCLIENT;
    for (int b = 1; b < RULE_BUF_COUNT; b++) {
        const struct rule_buffer_info *bi = rule_buffer_info((unsigned)b);
        const char *bp = bi->proto;

        if (!(r->buffers & RULE_BUF_BIT(b)) || bp == NULL)
            continue;
        if (want && strcmp(want, bp) != 0 && strcmp(bp, "file") != 0 && strcmp(want, "file") != 0)
            return perr(pc, NULL, "rule mixes %s and %s buffers", rule_buffer_name((enum rule_buffer)wbuf),
                        rule_buffer_name((enum rule_buffer)b));
        if (want == NULL || strcmp(want, "file") == 0) {
            want = bp;
            wbuf = b;
        }
        if (r->ipproto == 1 || !rule_buffer_proto_fits(bp, r->proto, r->app_layer))
            return perr(pc, NULL, "%s can't be used with protocol '%s'", rule_buffer_name((enum rule_buffer)b), r->proto);
        if (bi->dir == RULE_DIR_BOTH)
            continue;
        if (r->dir != RULE_DIR_BOTH && r->dir != bi->dir)
            return perr(pc, NULL, "%s is %s data and can't be used with %s", rule_buffer_name((enum rule_buffer)b),
                        bi->dir == RULE_DIR_TOSERVER ? "to_server" : "to_client",
                        dirbuf ? rule_buffer_name((enum rule_buffer)dirbuf) : "this flow keyword");
        r->dir = bi->dir;
        dirbuf = b;
    }
    return 0;
}

/* What kinds of tests the rule has (struct rule.tests) beyond those the
 * keywords marked. */
static void rule_tests(struct rule *r)
{
    if (r->dsize.op || r->ttl.op || r->itype.op || r->icode.op || r->ip_proto.op || r->tcpflags.set)
        r->tests |= RULE_T_PACKET;
}

static int check_rule(struct pctx *pc)
{
    struct rule *r = pc->r;

    if (r->sid == 0)
        return perr(pc, NULL, "missing sid");
    if (!pc->have_prio)
        r->priority = r->cls ? (uint8_t)r->cls->priority : 3;
    if (r->msg == NULL && (r->msg = strdup("")) == NULL)
        return perr(pc, NULL, "out of memory");
    if (rp_check_payload(pc) < 0 || check_buffers(pc) < 0)
        return -1;
    if (r->dsize.op && (r->buffers & ~RULE_BUF_BIT(RULE_BUF_PAYLOAD) & ~RULE_BUF_BIT(RULE_BUF_BASE64)))
        return perr(pc, NULL, "dsize can't be used with sticky buffers");
    rule_tests(r);
    return 0;
}

/* Frees what the parse state still holds (variable names, transforms that
 * never got a view). */
static void pctx_done(struct pctx *pc)
{
    for (int i = 0; i < RULE_MAX_VARS; i++)
        free(pc->vars[i]);
    rp_xforms_free(pc->pxf, pc->npxf);
    pc->npxf = 0;
}

/* ------------------------------------------------------------------ rule */

int rule_parse(const char *text, const struct rule_parse_env *env,
               struct rule **out, struct rule_error *err)
{
    struct pctx pc;
    struct rule *r;
    char *buf, *p, *close;

    *out = NULL;
    err->msg[0] = err->agg[0] = '\0';
    err->skipped = 0;
    /* header_token() may shift the text by one byte */
    if ((buf = malloc(strlen(text) + 2)) == NULL || (r = calloc(1, sizeof *r)) == NULL) {
        free(buf);
        snprintf(err->msg, sizeof err->msg, "out of memory");
        snprintf(err->agg, sizeof err->agg, "out of memory");
        return -1;
    }
    strcpy(buf, text);
    r->text_hash = 1469598103934665603ull;
    for (const unsigned char *t = (const unsigned char *)text; *t; t++)
        r->text_hash = (r->text_hash ^ *t) * 1099511628211ull;
    memset(&pc, 0, sizeof pc);
    pc.r = r;
    pc.env = env;
    pc.err = err;
    pc.last_content = -1;
    pc.cur_view = -1;
    r->gid = 1;
    r->fast_pattern = -1;
    p = buf;
    if (parse_header(&pc, &p) < 0)
        goto fail;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '(' || (close = strrchr(p, ')')) == NULL) {
        perr(&pc, NULL, "rule options must be in parentheses");
        goto fail;
    }
    if (*rule_trim(close + 1) != '\0') {
        perr(&pc, NULL, "text after the closing parenthesis");
        goto fail;
    }
    *close = '\0';
    if (parse_options(&pc, p + 1) < 0 || check_rule(&pc) < 0)
        goto fail;
    pctx_done(&pc);
    free(buf);
    *out = r;
    return 0;
fail:
    err->skipped = pc.skip;
    pctx_done(&pc);
    free(buf);
    rule_free(r);
    return -1;
}

void rule_free(struct rule *r)
{
    if (r == NULL)
        return;
    rule_addrset_free(&r->src);
    rule_addrset_free(&r->dst);
    rule_portset_free(&r->sport);
    rule_portset_free(&r->dport);
    free(r->msg);
    for (uint32_t i = 0; i < r->nmetadata; i++) {
        free(r->metadata[i].key);
        free(r->metadata[i].value);
    }
    free(r->metadata);
    for (uint32_t i = 0; i < r->nrefs; i++) {
        free(r->refs[i].key);
        free(r->refs[i].value);
    }
    free(r->refs);
    for (uint32_t i = 0; i < r->nsm; i++) {
        if (r->sm[i].type == RULE_SM_CONTENT) {
            free(r->sm[i].u.c.bytes);
        } else if (r->sm[i].type == RULE_SM_PCRE) {
            pcre2_code_free((pcre2_code *)r->sm[i].u.p.code);
            free(r->sm[i].u.p.text);
        } else if (r->sm[i].type == RULE_SM_HASHLIST) {
            rule_hashlist_free(&r->sm[i].u.h);
        }
    }
    free(r->sm);
    for (uint32_t i = 0; i < r->nviews; i++)
        rp_xforms_free(r->views[i].xf, r->views[i].nxf);
    free(r->views);
    for (uint32_t i = 0; i < r->nbits; i++)
        free(r->bits[i].text);
    free(r->bits);
    for (uint32_t i = 0; i < r->nxbits; i++)
        free(r->xbits[i].text);
    free(r->xbits);
    free(r->fints);
    for (uint32_t i = 0; i < r->nevents; i++)
        free(r->events[i].name);
    free(r->events);
    free(r->app_proto);
    free(r->ndpi_proto);
    if (r->geoip)
        free(r->geoip->cc);
    free(r->geoip);
    free(r);
}
