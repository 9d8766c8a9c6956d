/*
 * http.c - methods, header lookup and the response struct (see http.h).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api/http.h"
#include "lib/xalloc.h"
#include "lib/banned.h"

static const char *const METHODS[] = { [API_GET] = "GET",         [API_HEAD] = "HEAD",
                                       [API_POST] = "POST",       [API_PUT] = "PUT",
                                       [API_DELETE] = "DELETE",   [API_PATCH] = "PATCH",
                                       [API_OPTIONS] = "OPTIONS", [API_OTHER_METHOD] = "OTHER" };

enum api_method api_method_parse(const char *text)
{
    for (unsigned m = 0; text && m < API_OTHER_METHOD; m++) {
        if (strcmp(text, METHODS[m]) == 0)
            return (enum api_method)m;
    }
    return API_OTHER_METHOD;
}

const char *api_method_name(enum api_method m)
{
    return (unsigned)m <= API_OTHER_METHOD ? METHODS[m] : "OTHER";
}

const char *api_request_header(const struct api_request *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++) {
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    }
    return NULL;
}

void api_response_init(struct api_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    strbuf_init(&resp->body, 0);
    resp->fd = -1;
    resp->status = 500;
}

void api_response_release(struct api_response *resp)
{
    strbuf_release(&resp->body);
    free(resp->blob);
    if (resp->fd >= 0)
        close(resp->fd);
    for (size_t i = 0; i < resp->nheaders; i++) {
        free(resp->headers[i].name);
        free(resp->headers[i].value);
    }
    memset(resp, 0, sizeof(*resp));
    resp->fd = -1;
}

void api_response_header(struct api_response *resp, const char *name, const char *value)
{
    if (resp->nheaders == API_MAX_RESPONSE_HEADERS)
        return;
    resp->headers[resp->nheaders].name = xstrdup(name);
    resp->headers[resp->nheaders].value = xstrdup(value);
    resp->nheaders++;
}
