/*
 * openapi.h - the OpenAPI 3 document of the REST API (api/openapi.yaml),
 * compiled into the binary by embed_openapi.cmake so the container image
 * serves it without the source tree (GET /api/v1/openapi.yaml).
 */
#ifndef DMARCD_API_OPENAPI_H
#define DMARCD_API_OPENAPI_H

#include <stddef.h>

extern const char api_openapi_yaml[];   /* NUL-terminated */
extern const size_t api_openapi_yaml_len;

#endif
