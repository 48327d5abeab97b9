/*
 * A small HTTP/1.1 server in C that embeds the EduConnect-rs login gateway
 * through its C ABI:
 *
 *   - requests for the gateway's routes (/auth/...) are handed to it, and
 *     its responses written back as they are;
 *   - GET /eleve?source=aaf%3A14&id=E14-0001 shows a pupil's page only to a
 *     person who may act for that pupil (a legal guardian, by default): 401
 *     without a session, 403 for anyone else;
 *   - POST /eleve?... (signing a request for the pupil) needs legal
 *     authority over the pupil, and a request from the service's own
 *     origin (a POST from another origin of the same site sees no session);
 *   - GET / says who is logged in (their children's ids, never a name),
 *     from the Cookie header alone.
 *
 *   gateway_server CONFIG_FILE PORT
 *
 * Listens on 127.0.0.1:PORT with four threads sharing one gateway (the
 * gateway is thread-safe). SIGTERM or SIGINT stops it cleanly: the threads
 * finish, the gateway is freed, exit code 0.
 *
 * An example, not a production server: one request per connection, no
 * TLS (put it behind a reverse proxy), requests up to 64 KiB.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "educonnect.h"

#define WORKERS 4
#define MAX_REQUEST (64 * 1024)

static educonnect_gateway *gateway = NULL;
static int listener = -1;
static volatile sig_atomic_t stopping = 0;

static void on_signal(int signal) {
  (void)signal;
  stopping = 1;
  /* Wakes the threads blocked in accept(). */
  shutdown(listener, SHUT_RDWR);
}

static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Writes a response of the service itself (not the gateway's). */
static void respond(int fd, int status, const char *reason, const char *body) {
  char head[512];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d %s\r\n"
                   "content-type: text/html; charset=utf-8\r\n"
                   "cache-control: no-store\r\n"
                   "content-length: %zu\r\n"
                   "connection: close\r\n\r\n",
                   status, reason, strlen(body));
  if (n > 0 && (size_t)n < sizeof head && write_all(fd, head, (size_t)n) == 0) {
    write_all(fd, body, strlen(body));
  }
}

/* Writes the gateway's response as it is. */
static void respond_gateway(int fd, const educonnect_response *response) {
  uint16_t status = 0;
  const char *headers, *body;
  size_t headers_len, body_len;
  if (educonnect_response_status(response, &status) != EDUCONNECT_OK ||
      educonnect_response_headers(response, &headers, &headers_len) != EDUCONNECT_OK ||
      educonnect_response_body(response, &body, &body_len) != EDUCONNECT_OK) {
    respond(fd, 500, "Internal Server Error", "<p>Erreur interne</p>");
    return;
  }
  char line[128];
  int n = snprintf(line, sizeof line, "HTTP/1.1 %u \r\n", (unsigned)status);
  char tail[128];
  int m = snprintf(tail, sizeof tail, "content-length: %zu\r\nconnection: close\r\n\r\n",
                   body_len);
  if (n > 0 && m > 0 && write_all(fd, line, (size_t)n) == 0 &&
      write_all(fd, headers, headers_len) == 0 && write_all(fd, tail, (size_t)m) == 0) {
    write_all(fd, body, body_len);
  }
}

static int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/*
 * Finds `name` in a query string and percent-decodes its value into `out`
 * (NUL-terminated). Returns its length, or -1 if absent, malformed or too
 * long. A decoded NUL is refused: the value goes to the library by its
 * length, but this program prints it.
 */
static long query_param(const char *query, const char *name, char *out, size_t cap) {
  size_t name_len = strlen(name);
  const char *p = query;
  while (p != NULL && *p != '\0') {
    const char *end = strchr(p, '&');
    size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
    if (len > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == '=') {
      size_t o = 0;
      for (size_t i = name_len + 1; i < len; i++) {
        int c = (unsigned char)p[i];
        if (c == '%') {
          if (i + 2 >= len) return -1;
          int hi = hex(p[i + 1]), lo = hex(p[i + 2]);
          if (hi < 0 || lo < 0) return -1;
          c = hi * 16 + lo;
          i += 2;
        } else if (c == '+') {
          c = ' ';
        }
        if (c == 0 || o + 1 >= cap) return -1;
        out[o++] = (char)c;
      }
      out[o] = '\0';
      return (long)o;
    }
    p = end != NULL ? end + 1 : NULL;
  }
  return -1;
}

/* The session's claims for this request (NULL: nobody). */
static educonnect_claims *claims_of(const char *method, const char *headers,
                                    size_t headers_len, educonnect_result *rc) {
  educonnect_claims *claims = NULL;
  *rc = educonnect_gateway_request_claims(gateway, method, strlen(method), headers,
                                          headers_len, &claims);
  return claims;
}

static void pupil_page(int fd, const char *method, const char *query,
                       const char *headers, size_t headers_len, int sign) {
  char source[128], id[300];
  long source_len = query_param(query, "source", source, sizeof source);
  long id_len = query_param(query, "id", id, sizeof id);
  if (source_len < 0 || id_len < 0) {
    respond(fd, 400, "Bad Request", "<p>Demande invalide</p>");
    return;
  }
  educonnect_result rc;
  educonnect_claims *claims = claims_of(method, headers, headers_len, &rc);
  if (rc != EDUCONNECT_OK) {
    respond(fd, 503, "Service Unavailable", "<p>Service momentanément indisponible</p>");
    return;
  }
  if (claims == NULL) {
    respond(fd, 401, "Unauthorized",
            "<p>Connectez-vous : <a href=\"/auth/login\">connexion</a></p>");
    return;
  }
  uint8_t allowed = 0;
  if (sign) {
    rc = educonnect_claims_has_legal_authority_over(claims, source, (size_t)source_len, id,
                                                    (size_t)id_len, &allowed);
  } else {
    rc = educonnect_claims_may_act_for(claims, source, (size_t)source_len, id,
                                       (size_t)id_len, &allowed);
  }
  educonnect_claims_free(claims);
  if (rc == EDUCONNECT_INVALID_PUPIL_ID) {
    respond(fd, 400, "Bad Request", "<p>Élève inconnu</p>");
  } else if (rc != EDUCONNECT_OK) {
    respond(fd, 500, "Internal Server Error", "<p>Erreur interne</p>");
  } else if (!allowed) {
    respond(fd, 403, "Forbidden", "<p>Demande refusée</p>");
  } else {
    /* Ids are printable ASCII without '<' only if the school wrote them so:
       a real page escapes them. Here: digits, letters and '-' only. */
    for (long i = 0; i < id_len; i++) {
      char c = id[i];
      if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            c == '-')) {
        respond(fd, 200, "OK", "<h1>Livret scolaire</h1>");
        return;
      }
    }
    char body[512];
    snprintf(body, sizeof body, "<h1>%s %s</h1>",
             sign ? "Demande signée pour l'élève" : "Livret scolaire de l'élève", id);
    respond(fd, 200, "OK", body);
  }
}

static void home_page(int fd, const char *headers, const char *headers_end) {
  /* The Cookie header's value, if any (one header: HTTP/1.1 browsers send
     one). */
  const char *cookie = "";
  size_t cookie_len = 0;
  for (const char *h = headers; h < headers_end; h = strstr(h, "\r\n") + 2) {
    if (strncasecmp(h, "cookie:", 7) == 0) {
      cookie = h + 7;
      cookie_len = (size_t)(strstr(h, "\r\n") - cookie);
    }
  }
  educonnect_claims *claims = NULL;
  educonnect_result rc =
      educonnect_gateway_session_claims(gateway, cookie, cookie_len, &claims);
  if (rc != EDUCONNECT_OK) {
    respond(fd, 503, "Service Unavailable", "<p>Service momentanément indisponible</p>");
    return;
  }
  if (claims == NULL) {
    respond(fd, 200, "OK", "<p>Bienvenue. <a href=\"/auth/login\">Se connecter</a></p>");
    return;
  }
  char body[4096];
  size_t used = (size_t)snprintf(body, sizeof body, "<p>Connecté. Enfants :</p><ul>");
  size_t count = 0;
  educonnect_claims_child_count(claims, &count);
  for (size_t i = 0; i < count && used < sizeof body; i++) {
    const char *source, *local;
    size_t source_len, local_len;
    if (educonnect_claims_child_pupil(claims, i, &source, &source_len, &local,
                                      &local_len) == EDUCONNECT_OK) {
      int n = snprintf(body + used, sizeof body - used, "<li>%s/%s</li>", source, local);
      if (n > 0) used += (size_t)n;
    }
  }
  if (used < sizeof body) {
    snprintf(body + used, sizeof body - used, "</ul>");
  }
  educonnect_claims_free(claims);
  respond(fd, 200, "OK", body);
}

static void serve(int fd) {
  char *request = malloc(MAX_REQUEST + 1);
  if (request == NULL) return;
  size_t len = 0;
  char *end = NULL;
  while (len < MAX_REQUEST) {
    ssize_t n = read(fd, request + len, MAX_REQUEST - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
    request[len] = '\0';
    if ((end = strstr(request, "\r\n\r\n")) != NULL) break;
  }
  if (end == NULL) {
    respond(fd, 400, "Bad Request", "<p>Demande invalide</p>");
    free(request);
    return;
  }
  /* The request line: METHOD TARGET VERSION. */
  char *line_end = strstr(request, "\r\n");
  *line_end = '\0';
  char *method = request;
  char *target = strchr(method, ' ');
  char *version = target != NULL ? strchr(target + 1, ' ') : NULL;
  if (target == NULL || version == NULL) {
    respond(fd, 400, "Bad Request", "<p>Demande invalide</p>");
    free(request);
    return;
  }
  *target++ = '\0';
  *version = '\0';
  char *headers = line_end + 2;
  size_t headers_len = (size_t)(end + 2 - headers);
  char *body = end + 4;
  size_t body_len = len - (size_t)(body - request);

  /* Content-Length: read the rest of the body. */
  size_t content_length = 0;
  for (char *h = headers; h < end; h = strstr(h, "\r\n") + 2) {
    if (strncasecmp(h, "content-length:", 15) == 0) {
      content_length = strtoul(h + 15, NULL, 10);
    }
  }
  if (content_length > MAX_REQUEST - (size_t)(body - request)) {
    respond(fd, 413, "Payload Too Large", "<p>Requête trop volumineuse</p>");
    free(request);
    return;
  }
  while (body_len < content_length) {
    ssize_t n = read(fd, body + body_len, content_length - body_len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    body_len += (size_t)n;
  }
  if (body_len > content_length) body_len = content_length;

  educonnect_response *response = NULL;
  educonnect_result rc = educonnect_gateway_handle(
      gateway, method, strlen(method), target, strlen(target), headers, headers_len,
      body, body_len, &response);
  if (rc == EDUCONNECT_OK) {
    respond_gateway(fd, response);
    educonnect_response_free(response);
  } else if (rc == EDUCONNECT_NOT_A_GATEWAY_ROUTE) {
    char *query = strchr(target, '?');
    if (query != NULL) *query++ = '\0';
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    if (strcmp(target, "/eleve") == 0 && (get || post)) {
      pupil_page(fd, method, query != NULL ? query : "", headers, headers_len, post);
    } else if (strcmp(target, "/") == 0 && get) {
      home_page(fd, headers, end);
    } else if (strcmp(target, "/eleve") == 0 || strcmp(target, "/") == 0) {
      respond(fd, 405, "Method Not Allowed", "<p>Méthode non autorisée</p>");
    } else {
      respond(fd, 404, "Not Found", "<p>Page introuvable</p>");
    }
  } else {
    /* A request the gateway refused to read: say why to the client (the
       message is generic: it never repeats the request). */
    respond(fd, 400, "Bad Request", educonnect_error_message(rc));
  }
  free(request);
}

static void *worker(void *unused) {
  (void)unused;
  while (!stopping) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR) continue;
      break; /* shut down */
    }
    serve(fd);
    close(fd);
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s CONFIG_FILE PORT\n", argv[0]);
    return 2;
  }
  educonnect_result rc =
      educonnect_gateway_new_from_file(argv[1], strlen(argv[1]), &gateway);
  if (rc != EDUCONNECT_OK) {
    const char *detail;
    size_t detail_len;
    educonnect_last_error_detail(&detail, &detail_len);
    fprintf(stderr, "gateway: %s (code %u): %s\n", educonnect_error_message(rc),
            (unsigned)rc, detail);
    return 1;
  }

  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons((uint16_t)atoi(argv[2]));
  int one = 1;
  listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0 || setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listener, 64) != 0) {
    perror("listen");
    educonnect_gateway_free(gateway);
    return 1;
  }

  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_signal;
  sigaction(SIGTERM, &action, NULL);
  sigaction(SIGINT, &action, NULL);
  signal(SIGPIPE, SIG_IGN);

  printf("listening on 127.0.0.1:%s\n", argv[2]);
  fflush(stdout);
  pthread_t threads[WORKERS];
  int started = 0;
  for (int i = 0; i < WORKERS; i++) {
    if (pthread_create(&threads[i], NULL, worker, NULL) == 0) started++;
  }
  for (int i = 0; i < started; i++) {
    pthread_join(threads[i], NULL);
  }
  close(listener);
  educonnect_gateway_free(gateway);
  printf("stopped\n");
  return 0;
}
