#!/usr/bin/env python3
"""Verifies a family assertion with the EduConnect-rs C ABI, from Python
(ctypes, no compiler), and checks one pupil: the same program as
examples/c/verify_assertion.c, with the same output.

    verify_assertion.py JWKS_FILE ISSUER AUDIENCE TOKEN_FILE SOURCE LOCAL_ID

The library is EDUCONNECT_FFI_LIB (a path to libeduconnect_ffi.so), or else
found by ctypes.util.find_library("educonnect_ffi").
"""

import ctypes
import ctypes.util
import os
import sys
from ctypes import POINTER, byref, c_char_p, c_int64, c_size_t, c_uint8, c_uint32, c_void_p

EDUCONNECT_OK = 0
EDUCONNECT_PROFILE_PUPIL = 2
RELATIONSHIPS = {
    1: "mother", 2: "father", 3: "sibling", 4: "grandparent", 5: "other family",
    6: "educator", 7: "family assistant", 8: "child minder", 9: "tutor",
    10: "child welfare", 11: "pupil", 12: "other",
}


def load():
    path = os.environ.get("EDUCONNECT_FFI_LIB") or ctypes.util.find_library("educonnect_ffi")
    if not path:
        sys.exit("libeduconnect_ffi not found: set EDUCONNECT_FFI_LIB")
    lib = ctypes.CDLL(path)
    text_out = [POINTER(c_char_p), POINTER(c_size_t)]
    # Every function returns an educonnect_result (uint32_t).
    signatures = {
        "educonnect_verifier_new": [c_char_p, c_size_t, c_char_p, c_size_t, c_char_p, c_size_t, POINTER(c_void_p)],
        "educonnect_verifier_verify": [c_void_p, c_char_p, c_size_t, POINTER(c_void_p)],
        "educonnect_claims_subject": [c_void_p] + text_out,
        "educonnect_claims_json": [c_void_p] + text_out,
        "educonnect_claims_profile": [c_void_p, POINTER(c_uint32)],
        "educonnect_claims_validity": [c_void_p, POINTER(c_int64), POINTER(c_int64)],
        "educonnect_claims_child_count": [c_void_p, POINTER(c_size_t)],
        "educonnect_claims_child_pupil": [c_void_p, c_size_t] + text_out + text_out,
        "educonnect_claims_child_ine": [c_void_p, c_size_t] + text_out,
        "educonnect_claims_child_uai": [c_void_p, c_size_t] + text_out,
        "educonnect_claims_child_link": [c_void_p, c_size_t, POINTER(c_uint32), POINTER(c_uint8), POINTER(c_uint8), POINTER(c_uint32)],
        "educonnect_claims_may_act_for": [c_void_p, c_char_p, c_size_t, c_char_p, c_size_t, POINTER(c_uint8)],
        "educonnect_claims_has_legal_authority_over": [c_void_p, c_char_p, c_size_t, c_char_p, c_size_t, POINTER(c_uint8)],
    }
    for name, args in signatures.items():
        function = getattr(lib, name)
        function.argtypes = args
        function.restype = c_uint32
    for name in ("educonnect_verifier_free", "educonnect_claims_free"):
        getattr(lib, name).argtypes = [c_void_p]
        getattr(lib, name).restype = None
    lib.educonnect_error_message.argtypes = [c_uint32]
    lib.educonnect_error_message.restype = c_char_p
    return lib


class Failure(Exception):
    def __init__(self, lib, what, code):
        super().__init__(f"{what}: {lib.educonnect_error_message(code).decode()} (code {code})")


def check(lib, what, code):
    if code != EDUCONNECT_OK:
        raise Failure(lib, what, code)


def text(pointer, length):
    """A string borrowed from the claims: copied out by its length."""
    return "-" if not pointer.value else ctypes.string_at(pointer, length.value).decode()


def main(argv):
    if len(argv) != 7:
        sys.exit(f"usage: {argv[0]} JWKS_FILE ISSUER AUDIENCE TOKEN_FILE SOURCE LOCAL_ID")
    lib = load()
    jwks = open(argv[1], "rb").read().rstrip(b"\r\n")
    token = open(argv[4], "rb").read().rstrip(b"\r\n")
    issuer, audience = argv[2].encode(), argv[3].encode()
    source, local = argv[5].encode(), argv[6].encode()

    verifier, claims = c_void_p(), c_void_p()
    try:
        check(lib, "verifier", lib.educonnect_verifier_new(
            jwks, len(jwks), issuer, len(issuer), audience, len(audience), byref(verifier)))
        code = lib.educonnect_verifier_verify(verifier, token, len(token), byref(claims))
        if code != EDUCONNECT_OK:
            print(f"rejected: {lib.educonnect_error_message(code).decode()} (code {code})")
            return 1
        p, n = c_char_p(), c_size_t()
        check(lib, "subject", lib.educonnect_claims_subject(claims, byref(p), byref(n)))
        print(f"subject: {text(p, n)}")
        profile = c_uint32()
        check(lib, "profile", lib.educonnect_claims_profile(claims, byref(profile)))
        print("profile: " + ("pupil" if profile.value == EDUCONNECT_PROFILE_PUPIL else "guardian"))
        count = c_size_t()
        check(lib, "children", lib.educonnect_claims_child_count(claims, byref(count)))
        print(f"children: {count.value}")
        for i in range(count.value):
            s, sn, l, ln = c_char_p(), c_size_t(), c_char_p(), c_size_t()
            ine, ine_n, uai, uai_n = c_char_p(), c_size_t(), c_char_p(), c_size_t()
            rel, rel_code, legal, how = c_uint32(), c_uint8(), c_uint8(), c_uint32()
            check(lib, "child", lib.educonnect_claims_child_pupil(claims, i, byref(s), byref(sn), byref(l), byref(ln)))
            check(lib, "child", lib.educonnect_claims_child_ine(claims, i, byref(ine), byref(ine_n)))
            check(lib, "child", lib.educonnect_claims_child_uai(claims, i, byref(uai), byref(uai_n)))
            check(lib, "child", lib.educonnect_claims_child_link(claims, i, byref(rel), byref(rel_code), byref(legal), byref(how)))
            print(f"child {i}: {text(s, sn)}/{text(l, ln)} {RELATIONSHIPS.get(rel.value, 'unknown')} "
                  f"(code {rel_code.value}) legal_authority={'yes' if legal.value else 'no'} "
                  f"ine={text(ine, ine_n)} uai={text(uai, uai_n)}")
        act, authority = c_uint8(), c_uint8()
        check(lib, "decision", lib.educonnect_claims_may_act_for(
            claims, source, len(source), local, len(local), byref(act)))
        check(lib, "decision", lib.educonnect_claims_has_legal_authority_over(
            claims, source, len(source), local, len(local), byref(authority)))
        pupil = f"{argv[5]}/{argv[6]}"
        print(f"may act for {pupil}: {'yes' if act.value else 'no'}")
        print(f"legal authority over {pupil}: {'yes' if authority.value else 'no'}")
        check(lib, "json", lib.educonnect_claims_json(claims, byref(p), byref(n)))
        print(f"json: {text(p, n)}")
        return 0
    except Failure as failure:
        print(failure, file=sys.stderr)
        return 2
    finally:
        lib.educonnect_claims_free(claims)
        lib.educonnect_verifier_free(verifier)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
