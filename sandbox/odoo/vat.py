"""Valid Dutch and Belgian VAT numbers for seeding (check digits computed, not looked up).

NL (old ``omzetbelastingnummer``): ``NL`` + 9 digits + ``B`` + 2 digits. The 9 digits pass the
Dutch "elfproef": 9·d1 + 8·d2 + … + 2·d8 − d9 ≡ 0 (mod 11), so d9 is that weighted sum of the
first eight digits mod 11 (a remainder of 10 has no digit: draw again).

BE (``ondernemingsnummer``): ``BE`` + 10 digits starting with 0; the last two digits are
97 − (first eight digits mod 97), so the number's first eight digits plus its check add up to a
multiple of 97.
"""
from __future__ import annotations

import random

__all__ = ["be_vat", "nl_vat"]


def nl_vat(rng: random.Random) -> str:
    while True:
        digits = [rng.randrange(10) for _ in range(8)]
        if not any(digits):
            continue
        check = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if check == 10:
            continue
        return f"NL{''.join(map(str, digits))}{check}B{rng.randrange(1, 20):02d}"


def be_vat(rng: random.Random) -> str:
    first8 = rng.randrange(1, 10**7)  # leading 0 then seven digits
    check = 97 - first8 % 97
    return f"BE0{first8:07d}{check:02d}"
