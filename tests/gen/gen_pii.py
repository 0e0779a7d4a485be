#!/usr/bin/env python3
"""gen_pii.py - writes tests/unit/pii-vectors.h: generated personal-data
test vectors for the pii detectors (sensor/detect/pii.c), with their check
digits computed here, independently of the C code under test.

Usage: gen_pii.py > tests/unit/pii-vectors.h

Deterministic (fixed seed): two runs write identical bytes. Nothing in it is
real: identity numbers are random region codes, birth dates and sequence
numbers with a GB 11643 check character; card numbers are random digits
after an issuer prefix with a Luhn check digit; mobile numbers are random
digits after 1[3-9]; email addresses are at the reserved example.com /
example.org / example.net domains; passport numbers are random digits.

Each "bad" list holds near misses that must count as nothing: a valid
number with one defect (the check digit, the date, the region, the issuer
prefix, the length), the other checks intact.
"""
import random
import sys

SEED = 24
REFERENCE_DATE = 20240601  # the tests' pii_opts.today

PROVINCES = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
             50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83]
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_check(d17):
    return "10X98765432"[sum(int(c) * w for c, w in zip(d17, ID_WEIGHTS)) % 11]


def make_id(rng, province=None, date=None):
    province = province if province is not None else rng.choice(PROVINCES)
    if date is None:
        y = rng.randint(1930, 2020)
        m = rng.randint(1, 12)
        mdays = [31, 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28, 31, 30, 31, 30,
                 31, 31, 30, 31, 30, 31][m - 1]
        date = "%04d%02d%02d" % (y, m, rng.randint(1, mdays))
    d17 = "%02d%04d%s%03d" % (province, rng.randint(100, 9999), date, rng.randint(0, 999))
    return d17 + id_check(d17)


def luhn_digit(body):
    total = 0
    for i, c in enumerate(reversed(body)):
        v = int(c)
        if i % 2 == 0:          # doubled: the check digit will sit to its right
            v *= 2
            if v > 9:
                v -= 9
        total += v
    return str((10 - total % 10) % 10)


def make_card(rng, prefix, length):
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return body + luhn_digit(body)


def luhn_ok(number):
    return luhn_digit(number[:-1]) == number[-1]


def id_ok(number):
    """Whether a string is a valid identity number (check character, date, region)."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    d17, y, m, d = number[:17], int(number[6:10]), int(number[10:12]), int(number[12:14])
    leapy = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    mdays = [31, 29 if leapy else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return (int(number[:2]) in PROVINCES and 1900 <= y and 1 <= m <= 12 and
            1 <= d <= mdays[m - 1] and int(number[6:14]) <= REFERENCE_DATE and
            id_check(d17) == number[17].upper())


def is_mobile(d):
    return len(d) == 11 and d[0] == "1" and d[1] in "3456789"


def nothing(s):
    """Whether a run of digits (an 'X' may end it) can be no number at all: not an identity number,
    not Luhn-valid (so no card, whatever the prefix), no mobile number with or without 86/0086."""
    return (not id_ok(s) and not (s.isdigit() and luhn_ok(s)) and not is_mobile(s) and
            not (s.startswith("86") and is_mobile(s[2:])) and not (s.startswith("0086") and is_mobile(s[4:])))


def near_miss(rng, make):
    """make(rng) until what it makes is nothing (see nothing())."""
    while True:
        s = make(rng)
        if nothing(s):
            return s


def other_digit(rng, c, alphabet="0123456789"):
    return rng.choice([x for x in alphabet if x != c])


def make_mobile(rng, second=None):
    return "1" + (second or rng.choice("3456789")) + "".join(rng.choice("0123456789") for _ in range(9))


def c_array(name, items, comment):
    out = ["/* %s */" % comment, "static const char *const %s[] = {" % name]
    line = "   "
    for it in items:
        s = ' "%s",' % it
        if len(line) + len(s) > 100:
            out.append(line)
            line = "   "
        line += s
    out.append(line)
    out.append("};")
    return "\n".join(out)


def main():
    rng = random.Random(SEED)
    arrays = []

    ids = [make_id(rng) for _ in range(40)]
    while sum(1 for i in ids if i.endswith("X")) < 6:
        i = make_id(rng)
        if i.endswith("X"):
            ids.append(i)
    ids += [make_id(rng, date=d) for d in ("20000229", "19960229", "19000101", "20240601")]
    for p in PROVINCES:
        ids.append(make_id(rng, province=p))
    arrays.append(c_array("pv_id", ids, "valid resident identity numbers"))

    bad_check = [near_miss(rng, lambda r, i=i: i[:17] + other_digit(r, i[17], "0123456789X")) for i in ids[:30]]
    arrays.append(c_array("pv_id_bad_check", bad_check, "identity numbers with a wrong check character"))

    id17 = [i[:17] for i in ids[:20] if nothing(i[:17])]
    arrays.append(c_array("pv_id_17", id17, "identity numbers without their check character (17 digits)"))
    id19 = [near_miss(rng, lambda r, i=i: i + r.choice("0123456789")) for i in ids[:20] if not i.endswith("X")]
    id19 += [near_miss(rng, lambda r, i=i: r.choice("0123456789") + i) for i in ids[:20]]
    arrays.append(c_array("pv_id_19", id19, "identity numbers with one more digit before or after"))

    bad_date = [near_miss(rng, lambda r, d=d: make_id(r, date=d)) for d in (
        "19900229",   # not a leap year
        "19000229",   # 1900 is not a leap year either
        "21000229",   # nor 2100 (and the future)
        "20230230", "20230431", "20231301", "20230001", "20230100", "20230132",
        "18991231",   # before 1900
        "20240602",   # the day after the reference date
        "20990101",   # the future
        "00000000",
    )]
    arrays.append(c_array("pv_id_bad_date", bad_date,
                          "identity numbers with a correct check character and an impossible birth date "
                          "(reference date %d)" % REFERENCE_DATE))

    bad_region = [near_miss(rng, lambda r, p=p: make_id(r, province=p)) for p in
                  (0, 10, 16, 19, 20, 24, 30, 38, 40, 47, 49, 55, 60, 66, 70, 72, 80, 84, 90, 99)]
    arrays.append(c_array("pv_id_bad_region", bad_region,
                          "identity numbers with a correct check character and no such province"))

    card_specs = [
        ("62", 16), ("62", 17), ("62", 18), ("62", 19), ("6222", 19), ("81", 16), ("81", 19),
        ("4", 16), ("4", 19), ("51", 16), ("53", 16), ("55", 16), ("2221", 16), ("2500", 16), ("2720", 16),
        ("34", 15), ("37", 15), ("3528", 16), ("3589", 19), ("6011", 16), ("644", 16), ("649", 19),
        ("65", 16), ("5018", 16), ("5893", 19), ("6304", 16), ("6759", 18), ("6762", 16), ("2200", 16),
        ("2204", 19),
    ]
    cards = [make_card(rng, p, n) for p, n in card_specs for _ in range(2)]
    assert not any(id_ok(c) for c in cards)
    arrays.append(c_array("pv_card", cards, "valid card numbers: UnionPay, Visa, Mastercard, American Express, "
                          "JCB, Discover, Maestro, Mir"))

    bad_luhn = [near_miss(rng, lambda r, c=c: c[:-1] + other_digit(r, c[-1])) for c in cards]
    arrays.append(c_array("pv_card_bad_luhn", bad_luhn, "card numbers with a wrong Luhn digit"))

    no_issuer = [make_card(rng, p, n) for p, n in (
        ("1", 16), ("9", 16), ("70", 16), ("2220", 16), ("2721", 16), ("3527", 16), ("3590", 16),
        ("56", 16), ("30", 16), ("6010", 16), ("643", 16),
        ("51", 17), ("55", 19),        # Mastercard has 16 digits
        ("34", 16), ("37", 17),        # American Express has 15
        ("36", 14), ("300", 14),       # Diners Club, 14 digits
        ("4", 15), ("62", 15), ("4", 13), ("62", 20), ("4", 20),   # outside 16-19
    )]
    arrays.append(c_array("pv_card_bad_issuer", no_issuer,
                          "Luhn-valid numbers without an issuer prefix or with the wrong length for it"))

    mobiles = [make_mobile(rng, s) for s in "3456789" for _ in range(4)]
    arrays.append(c_array("pv_mobile", mobiles, "valid mainland mobile numbers"))

    longer = []
    for v in ids[:10] + cards[::3] + mobiles[::3]:
        longer += [near_miss(rng, lambda r, v=v: r.choice("0123456789") + v),
                   near_miss(rng, lambda r, v=v: r.choice("0123456789") * 2 + v + r.choice("0123456789"))]
        if not v.endswith("X"):
            longer.append(near_miss(rng, lambda r, v=v: v + r.choice("0123456789")))
    arrays.append(c_array("pv_longer", longer, "valid numbers inside a longer run of digits"))
    bad_mobiles = [make_mobile(rng, s) for s in "012" for _ in range(2)]
    bad_mobiles += [make_mobile(rng)[:10], make_mobile(rng) + "1", "2" + make_mobile(rng)[1:]]
    arrays.append(c_array("pv_mobile_bad", bad_mobiles,
                          "not mobile numbers: 1[0-2] after the first digit, 10 and 12 digits, not starting with 1"))

    users = ["zhang.san", "li_si", "wang-wu", "zhao.liu+tag", "user2024", "a", "x.y.z", "o'brien",
             "test.user_01", "Chen.Qi"]
    domains = ["example.com", "example.org", "example.net", "mail.example.com", "sub-1.example.org",
               "EXAMPLE.COM", "a.b.c.example.net", "example.xn--fiqs8s"]
    emails = ["%s@%s" % (users[i % len(users)], domains[i % len(domains)]) for i in range(20)]
    arrays.append(c_array("pv_email", emails, "valid email addresses at reserved domains"))
    bad_emails = ["user@example", "user@.example.com", "user@example..com", "user@-example.com",
                  "user@example-.com", "user@example.c", "user@example.c0m", "user.@example.com",
                  "@example.com", "icon@2x.png", "logo@3x.jpg", "user@@example.com", "user@example.123",
                  "user @example.com", "pkg@1.2.3", "user@localhost"]
    arrays.append(c_array("pv_email_bad", bad_emails, "not email addresses"))

    passports = [rng.choice("EG") + "%08d" % rng.randint(0, 99999999) for _ in range(10)]
    passports += ["e%08d" % rng.randint(0, 99999999), "g%08d" % rng.randint(0, 99999999)]
    arrays.append(c_array("pv_passport", passports, "passport numbers: E or G and 8 digits"))
    bad_passports = ["E%07d" % rng.randint(0, 9999999), "G%09d" % rng.randint(0, 999999999),
                     "F%08d" % rng.randint(0, 99999999), "XE%08d" % rng.randint(0, 99999999),
                     "1E%08d" % rng.randint(0, 99999999), "EA%07d" % rng.randint(0, 9999999),
                     "E%08dX" % rng.randint(0, 99999999), "E %08d" % rng.randint(0, 99999999)]
    arrays.append(c_array("pv_passport_bad", bad_passports, "not passport numbers"))

    print("/* pii-vectors.h - generated by tests/gen/gen_pii.py (seed %d); do not edit." % SEED)
    print(" * Generated test data for test_pii.c and bench_pii.c: nothing in it is real. */")
    print("#ifndef LW_PII_VECTORS_H")
    print("#define LW_PII_VECTORS_H")
    print()
    print("#define PV_REFERENCE_DATE %du" % REFERENCE_DATE)
    print("#define PV_N(a) (sizeof (a) / sizeof (a)[0])")
    print()
    print("\n\n".join(arrays))
    print()
    print("#endif")
    return 0


if __name__ == "__main__":
    sys.exit(main())
