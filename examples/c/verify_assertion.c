/*
 * Verifies a family assertion with the EduConnect-rs C ABI and checks one
 * pupil.
 *
 *   verify_assertion JWKS_FILE ISSUER AUDIENCE TOKEN_FILE SOURCE LOCAL_ID
 *
 * JWKS_FILE is the gateway's public keys (what it serves at /auth/jwks),
 * TOKEN_FILE the assertion (a compact JWS), SOURCE and LOCAL_ID the pupil
 * (e.g. "aaf:14" and "E1"). Prints the claims and the two decisions; a
 * refused assertion prints "rejected: <reason>" and exits with 1.
 *
 * Build: cc verify_assertion.c -I educonnect-ffi/include \
 *            $(pkg-config --cflags --libs educonnect) -o verify_assertion
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "educonnect.h"

/* Reads a whole file into a new buffer (trailing newlines dropped). */
static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    return NULL;
  }
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  size_t got;
  while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      char *bigger = realloc(buf, cap * 2);
      if (bigger == NULL) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = bigger;
      cap *= 2;
    }
  }
  fclose(f);
  while (buf != NULL && n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
    n--;
  }
  *len = n;
  return buf;
}

static const char *relationship_name(educonnect_relationship r) {
  switch (r) {
    case EDUCONNECT_RELATIONSHIP_MOTHER: return "mother";
    case EDUCONNECT_RELATIONSHIP_FATHER: return "father";
    case EDUCONNECT_RELATIONSHIP_SIBLING: return "sibling";
    case EDUCONNECT_RELATIONSHIP_GRANDPARENT: return "grandparent";
    case EDUCONNECT_RELATIONSHIP_OTHER_FAMILY: return "other family";
    case EDUCONNECT_RELATIONSHIP_EDUCATOR: return "educator";
    case EDUCONNECT_RELATIONSHIP_FAMILY_ASSISTANT: return "family assistant";
    case EDUCONNECT_RELATIONSHIP_CHILD_MINDER: return "child minder";
    case EDUCONNECT_RELATIONSHIP_TUTOR: return "tutor";
    case EDUCONNECT_RELATIONSHIP_CHILD_WELFARE: return "child welfare";
    case EDUCONNECT_RELATIONSHIP_PUPIL: return "pupil";
    case EDUCONNECT_RELATIONSHIP_OTHER: return "other";
    default: return "unknown";
  }
}

static int fail(const char *what, educonnect_result code) {
  fprintf(stderr, "%s: %s (code %u)\n", what, educonnect_error_message(code),
          (unsigned)code);
  return 2;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr,
            "usage: %s JWKS_FILE ISSUER AUDIENCE TOKEN_FILE SOURCE LOCAL_ID\n",
            argv[0]);
    return 2;
  }
  size_t jwks_len = 0, token_len = 0;
  char *jwks = read_file(argv[1], &jwks_len);
  char *token = read_file(argv[4], &token_len);
  if (jwks == NULL || token == NULL) {
    fprintf(stderr, "cannot read the JWKS or the token\n");
    free(jwks);
    free(token);
    return 2;
  }

  int status = 0;
  educonnect_verifier *verifier = NULL;
  educonnect_claims *claims = NULL;
  educonnect_result rc = educonnect_verifier_new(
      jwks, jwks_len, argv[2], strlen(argv[2]), argv[3], strlen(argv[3]),
      &verifier);
  if (rc != EDUCONNECT_OK) {
    status = fail("verifier", rc);
    goto out;
  }
  rc = educonnect_verifier_verify(verifier, token, token_len, &claims);
  if (rc != EDUCONNECT_OK) {
    printf("rejected: %s (code %u)\n", educonnect_error_message(rc),
           (unsigned)rc);
    status = 1;
    goto out;
  }

  const char *text;
  size_t text_len;
  if ((rc = educonnect_claims_subject(claims, &text, &text_len)) != EDUCONNECT_OK) {
    status = fail("subject", rc);
    goto out;
  }
  printf("subject: %s\n", text);
  educonnect_profile profile;
  if ((rc = educonnect_claims_profile(claims, &profile)) != EDUCONNECT_OK) {
    status = fail("profile", rc);
    goto out;
  }
  printf("profile: %s\n",
         profile == EDUCONNECT_PROFILE_PUPIL ? "pupil" : "guardian");

  size_t count = 0;
  if ((rc = educonnect_claims_child_count(claims, &count)) != EDUCONNECT_OK) {
    status = fail("children", rc);
    goto out;
  }
  printf("children: %zu\n", count);
  for (size_t i = 0; i < count; i++) {
    const char *source, *local, *ine, *uai;
    size_t source_len, local_len, ine_len, uai_len;
    educonnect_relationship relationship;
    educonnect_verification verification;
    uint8_t code, legal;
    if ((rc = educonnect_claims_child_pupil(claims, i, &source, &source_len,
                                            &local, &local_len)) != EDUCONNECT_OK ||
        (rc = educonnect_claims_child_ine(claims, i, &ine, &ine_len)) != EDUCONNECT_OK ||
        (rc = educonnect_claims_child_uai(claims, i, &uai, &uai_len)) != EDUCONNECT_OK ||
        (rc = educonnect_claims_child_link(claims, i, &relationship, &code, &legal,
                                           &verification)) != EDUCONNECT_OK) {
      status = fail("child", rc);
      goto out;
    }
    printf("child %zu: %s/%s %s (code %u) legal_authority=%s ine=%s uai=%s\n", i,
           source, local, relationship_name(relationship), (unsigned)code,
           legal ? "yes" : "no", ine != NULL ? ine : "-", uai != NULL ? uai : "-");
  }

  uint8_t act = 0, authority = 0;
  const char *pupil_source = argv[5], *pupil_local = argv[6];
  if ((rc = educonnect_claims_may_act_for(claims, pupil_source, strlen(pupil_source),
                                          pupil_local, strlen(pupil_local), &act)) !=
          EDUCONNECT_OK ||
      (rc = educonnect_claims_has_legal_authority_over(
           claims, pupil_source, strlen(pupil_source), pupil_local,
           strlen(pupil_local), &authority)) != EDUCONNECT_OK) {
    status = fail("decision", rc);
    goto out;
  }
  printf("may act for %s/%s: %s\n", pupil_source, pupil_local, act ? "yes" : "no");
  printf("legal authority over %s/%s: %s\n", pupil_source, pupil_local,
         authority ? "yes" : "no");

  if ((rc = educonnect_claims_json(claims, &text, &text_len)) != EDUCONNECT_OK) {
    status = fail("json", rc);
    goto out;
  }
  printf("json: %s\n", text);

out:
  /* Both accept NULL. */
  educonnect_claims_free(claims);
  educonnect_verifier_free(verifier);
  free(jwks);
  free(token);
  return status;
}
