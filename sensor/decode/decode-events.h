/* decode-events.h - every reason a packet can be refused or only partly
 * decoded, and every layer the decoder counts. X-macro lists, expanded by
 * decode.h into enums and by decode.c into name tables, so a reason is named
 * once. Names appear as-is in stats events (stats.decoder.event.<name>) and in
 * metrics; keep them stable.
 */

/* Layers counted once per packet that carries them (Suricata's stats.decoder.* names). */
#define DECODE_LAYERS(X) \
    X(ethernet,      "ethernet")     \
    X(sll,           "sll")          \
    X(sll2,          "sll2")         \
    X(raw,           "raw")          \
    X(null,          "null")         \
    X(ppp,           "ppp")          \
    X(chdlc,         "chdlc")        \
    X(vlan,          "vlan")         \
    X(vlan_qinq,     "vlan_qinq")    \
    X(mpls,          "mpls")         \
    X(pppoe,         "pppoe")        \
    X(nsh,           "nsh")          \
    X(ipv4,          "ipv4")         \
    X(ipv6,          "ipv6")         \
    X(tcp,           "tcp")          \
    X(udp,           "udp")          \
    X(sctp,          "sctp")         \
    X(icmpv4,        "icmpv4")       \
    X(icmpv6,        "icmpv6")       \
    X(gre,           "gre")          \
    X(erspan,        "erspan")       \
    X(vxlan,         "vxlan")        \
    X(geneve,        "geneve")       \
    X(teredo,        "teredo")       \
    X(gtp,           "gtp")          \
    X(ipv4_in_ipv4,  "ipv4_in_ipv4") \
    X(ipv6_in_ipv4,  "ipv6_in_ipv4") \
    X(ipv4_in_ipv6,  "ipv4_in_ipv6") \
    X(ipv6_in_ipv6,  "ipv6_in_ipv6") \
    X(arp,           "arp")          \
    X(other,         "other")

/* Decoder events: the reasons a packet was refused (counted, then
 * skipped), and anomalies that let it through (counted, kept on the packet
 * for decode-event rules). The anomalies carry Suricata's names, so its
 * decoder-events.rules load as they are. */
#define DECODE_EVENTS(X) \
    X(LINK_UNSUPPORTED,     "link.unsupported")        \
    X(ETH_TRUNCATED,        "ethernet.truncated")      \
    X(SLL_TRUNCATED,        "sll.truncated")           \
    X(SLL2_TRUNCATED,       "sll2.truncated")          \
    X(NULL_TRUNCATED,       "null.truncated")          \
    X(NULL_UNKNOWN_FAMILY,  "null.unknown_family")     \
    X(PPP_TRUNCATED,        "ppp.truncated")           \
    X(PPP_UNSUPPORTED,      "ppp.unsupported_proto")   \
    X(CHDLC_TRUNCATED,      "chdlc.truncated")         \
    X(VLAN_TRUNCATED,       "vlan.truncated")          \
    X(VLAN_TOO_MANY,        "vlan.too_many_layers")    \
    X(MPLS_TRUNCATED,       "mpls.truncated")          \
    X(MPLS_TOO_MANY,        "mpls.too_many_labels")    \
    X(MPLS_BAD_PAYLOAD,     "mpls.unknown_payload")    \
    X(PPPOE_TRUNCATED,      "pppoe.truncated")         \
    X(PPPOE_BAD_VERSION,    "pppoe.bad_version")       \
    X(PPPOE_BAD_LEN,        "pppoe.bad_len")           \
    X(NSH_TRUNCATED,        "nsh.truncated")           \
    X(NSH_BAD_VERSION,      "nsh.unsupported_version") \
    X(NSH_BAD_LEN,          "nsh.bad_header_length")   \
    X(NSH_RESERVED_TYPE,    "nsh.reserved_type")       \
    X(NSH_UNSUPPORTED_TYPE, "nsh.unsupported_type")    \
    X(NSH_UNKNOWN_PAYLOAD,  "nsh.unknown_payload")     \
    X(NSH_TOO_MANY,         "nsh.too_many_layers")     \
    X(IPV4_TRUNCATED,       "ipv4.truncated")          \
    X(IPV4_BAD_VERSION,     "ipv4.bad_version")        \
    X(IPV4_BAD_HLEN,        "ipv4.bad_hlen")           \
    X(IPV4_BAD_TOTLEN,      "ipv4.bad_total_len")      \
    X(IPV4_BAD_OPT,         "ipv4.bad_option")         \
    X(IPV6_TRUNCATED,       "ipv6.truncated")          \
    X(IPV6_BAD_VERSION,     "ipv6.bad_version")        \
    X(IPV6_BAD_PLEN,        "ipv6.bad_payload_len")    \
    X(IPV6_BAD_EXTHDR,      "ipv6.bad_ext_header")     \
    X(IPV6_TOO_MANY_EXT,    "ipv6.too_many_ext_headers") \
    /* the anomalies, from here to IPV6_DATA_AFTER_NONE, stay together:  \
     * decode_event_keeps_packet() tests their range */                 \
    X(IPV6_USELESS_FH,      "ipv6.exthdr_useless_fh")  \
    X(IPV6_DUPL_FH,         "ipv6.exthdr_dupl_fh")     \
    X(IPV6_FH_RESERVED,     "ipv6.fh_non_zero_reserved_field") \
    X(IPV6_FRAG_BAD_LEN,    "ipv6.frag_invalid_length") \
    X(IPV6_DUPL_HH,         "ipv6.exthdr_dupl_hh")     \
    X(IPV6_DUPL_DH,         "ipv6.exthdr_dupl_dh")     \
    X(IPV6_DUPL_RH,         "ipv6.exthdr_dupl_rh")     \
    X(IPV6_DUPL_AH,         "ipv6.exthdr_dupl_ah")     \
    X(IPV6_AH_RESERVED,     "ipv6.exthdr_ah_res_not_null") \
    X(IPV6_RH_TYPE_0,       "ipv6.rh_type_0")          \
    X(IPV6_BAD_OPTLEN,      "ipv6.exthdr_invalid_optlen") \
    X(IPV6_ZERO_LEN_PADN,   "ipv6.zero_len_padn")      \
    X(IPV6_HH_UNKNOWN_OPT,  "ipv6.hopopts_unknown_opt") \
    X(IPV6_DH_UNKNOWN_OPT,  "ipv6.dstopts_unknown_opt") \
    X(IPV6_HH_ONLY_PAD,     "ipv6.hopopts_only_padding") \
    X(IPV6_DH_ONLY_PAD,     "ipv6.dstopts_only_padding") \
    X(IPV6_DATA_AFTER_NONE, "ipv6.data_after_none_header") \
    X(TCP_TRUNCATED,        "tcp.truncated")           \
    X(TCP_BAD_HLEN,         "tcp.bad_hlen")            \
    X(TCP_BAD_OPT,          "tcp.bad_option")          \
    X(UDP_TRUNCATED,        "udp.truncated")           \
    X(UDP_BAD_LEN,          "udp.bad_len")             \
    X(ICMPV4_TRUNCATED,     "icmpv4.truncated")        \
    X(ICMPV6_TRUNCATED,     "icmpv6.truncated")        \
    X(SCTP_TRUNCATED,       "sctp.truncated")          \
    X(GRE_TRUNCATED,        "gre.truncated")           \
    X(GRE_BAD_VERSION,      "gre.bad_version")         \
    X(GRE_UNKNOWN_PAYLOAD,  "gre.unknown_payload")     \
    X(ERSPAN_TRUNCATED,     "erspan.truncated")        \
    X(ERSPAN_BAD_VERSION,   "erspan.bad_version")      \
    X(VXLAN_TRUNCATED,      "vxlan.truncated")         \
    X(VXLAN_BAD_FLAGS,      "vxlan.bad_flags")         \
    X(GENEVE_TRUNCATED,     "geneve.truncated")        \
    X(GENEVE_BAD_VERSION,   "geneve.bad_version")      \
    X(GENEVE_BAD_OPT_LEN,   "geneve.bad_opt_len")      \
    X(GENEVE_UNKNOWN_PAYLOAD, "geneve.unknown_payload") \
    X(GTP_TRUNCATED,        "gtp.truncated")           \
    X(TUNNEL_TOO_DEEP,      "tunnel.too_deep")         \
    X(FRAG_OVERLAP,         "defrag.overlap")          \
    X(FRAG_TOO_LARGE,       "defrag.too_large")        \
    X(FRAG_TABLE_FULL,      "defrag.table_full")       \
    X(FRAG_MEMCAP,          "defrag.memcap")           \
    X(FRAG_TIMEOUT,         "defrag.timeout")          \
    X(FRAG_BAD_LEN,         "defrag.bad_len")
