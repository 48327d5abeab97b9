<?php
// Verifies a family assertion with the EduConnect-rs C ABI, from PHP (the
// FFI extension, no compiler), and checks one pupil: the same program as
// examples/c/verify_assertion.c, with the same output.
//
//   php verify_assertion.php JWKS_FILE ISSUER AUDIENCE TOKEN_FILE SOURCE LOCAL_ID
//
// The library is EDUCONNECT_FFI_LIB (a path to libeduconnect_ffi.so); the
// declarations are educonnect-ffi/include/educonnect_ffi.h (the header
// without preprocessor lines, which FFI::cdef reads), or EDUCONNECT_FFI_HEADER.

declare(strict_types=1);

const EDUCONNECT_OK = 0;
const EDUCONNECT_PROFILE_PUPIL = 2;
const RELATIONSHIPS = [
    1 => 'mother', 2 => 'father', 3 => 'sibling', 4 => 'grandparent', 5 => 'other family',
    6 => 'educator', 7 => 'family assistant', 8 => 'child minder', 9 => 'tutor',
    10 => 'child welfare', 11 => 'pupil', 12 => 'other',
];

final class Failure extends Exception {}

function load(): FFI
{
    $header = getenv('EDUCONNECT_FFI_HEADER')
        ?: __DIR__ . '/../../educonnect-ffi/include/educonnect_ffi.h';
    $lib = getenv('EDUCONNECT_FFI_LIB') ?: 'libeduconnect_ffi.so';
    return FFI::cdef(file_get_contents($header), $lib);
}

function check(FFI $ffi, string $what, int $code): void
{
    if ($code !== EDUCONNECT_OK) {
        throw new Failure("$what: " . $ffi->educonnect_error_message($code) . " (code $code)");
    }
}

/** A string borrowed from the claims, copied out by its length ("-" if absent). */
function text($pointer, $length): string
{
    return FFI::isNull($pointer) ? '-' : FFI::string($pointer, $length->cdata);
}

function main(array $argv): int
{
    if (count($argv) !== 7) {
        fwrite(STDERR, "usage: {$argv[0]} JWKS_FILE ISSUER AUDIENCE TOKEN_FILE SOURCE LOCAL_ID\n");
        return 2;
    }
    $ffi = load();
    $jwks = rtrim(file_get_contents($argv[1]), "\r\n");
    $token = rtrim(file_get_contents($argv[4]), "\r\n");
    [$issuer, $audience, $source, $local] = [$argv[2], $argv[3], $argv[5], $argv[6]];

    $verifier = $ffi->new('educonnect_verifier*');
    $claims = $ffi->new('educonnect_claims*');
    try {
        check($ffi, 'verifier', $ffi->educonnect_verifier_new(
            $jwks, strlen($jwks), $issuer, strlen($issuer), $audience, strlen($audience),
            FFI::addr($verifier)
        ));
        $code = $ffi->educonnect_verifier_verify($verifier, $token, strlen($token), FFI::addr($claims));
        if ($code !== EDUCONNECT_OK) {
            echo 'rejected: ' . $ffi->educonnect_error_message($code) . " (code $code)\n";
            return 1;
        }
        $p = $ffi->new('const char*');
        $n = $ffi->new('size_t');
        check($ffi, 'subject', $ffi->educonnect_claims_subject($claims, FFI::addr($p), FFI::addr($n)));
        echo 'subject: ' . text($p, $n) . "\n";
        $profile = $ffi->new('educonnect_profile');
        check($ffi, 'profile', $ffi->educonnect_claims_profile($claims, FFI::addr($profile)));
        echo 'profile: ' . ($profile->cdata === EDUCONNECT_PROFILE_PUPIL ? 'pupil' : 'guardian') . "\n";
        $count = $ffi->new('size_t');
        check($ffi, 'children', $ffi->educonnect_claims_child_count($claims, FFI::addr($count)));
        echo "children: {$count->cdata}\n";
        for ($i = 0; $i < $count->cdata; $i++) {
            [$s, $sn, $l, $ln] = [$ffi->new('const char*'), $ffi->new('size_t'), $ffi->new('const char*'), $ffi->new('size_t')];
            [$ine, $ine_n, $uai, $uai_n] = [$ffi->new('const char*'), $ffi->new('size_t'), $ffi->new('const char*'), $ffi->new('size_t')];
            [$rel, $rel_code, $legal, $how] = [$ffi->new('educonnect_relationship'), $ffi->new('uint8_t'), $ffi->new('uint8_t'), $ffi->new('educonnect_verification')];
            check($ffi, 'child', $ffi->educonnect_claims_child_pupil($claims, $i, FFI::addr($s), FFI::addr($sn), FFI::addr($l), FFI::addr($ln)));
            check($ffi, 'child', $ffi->educonnect_claims_child_ine($claims, $i, FFI::addr($ine), FFI::addr($ine_n)));
            check($ffi, 'child', $ffi->educonnect_claims_child_uai($claims, $i, FFI::addr($uai), FFI::addr($uai_n)));
            check($ffi, 'child', $ffi->educonnect_claims_child_link($claims, $i, FFI::addr($rel), FFI::addr($rel_code), FFI::addr($legal), FFI::addr($how)));
            printf(
                "child %d: %s/%s %s (code %d) legal_authority=%s ine=%s uai=%s\n",
                $i, text($s, $sn), text($l, $ln), RELATIONSHIPS[$rel->cdata] ?? 'unknown',
                $rel_code->cdata, $legal->cdata ? 'yes' : 'no', text($ine, $ine_n), text($uai, $uai_n)
            );
        }
        $act = $ffi->new('uint8_t');
        $authority = $ffi->new('uint8_t');
        check($ffi, 'decision', $ffi->educonnect_claims_may_act_for(
            $claims, $source, strlen($source), $local, strlen($local), FFI::addr($act)
        ));
        check($ffi, 'decision', $ffi->educonnect_claims_has_legal_authority_over(
            $claims, $source, strlen($source), $local, strlen($local), FFI::addr($authority)
        ));
        echo "may act for $source/$local: " . ($act->cdata ? 'yes' : 'no') . "\n";
        echo "legal authority over $source/$local: " . ($authority->cdata ? 'yes' : 'no') . "\n";
        check($ffi, 'json', $ffi->educonnect_claims_json($claims, FFI::addr($p), FFI::addr($n)));
        echo 'json: ' . text($p, $n) . "\n";
        return 0;
    } catch (Failure $failure) {
        fwrite(STDERR, $failure->getMessage() . "\n");
        return 2;
    } finally {
        // Both accept NULL.
        $ffi->educonnect_claims_free($claims);
        $ffi->educonnect_verifier_free($verifier);
    }
}

exit(main($argv));
