// Package docs holds the OpenAPI 3.1 description of Switchboard's REST API,
// embedded so that the server can serve it at /api/v1/openapi.yaml and tests
// can check real responses against it (see package openapitest).
//
// openapi.yaml is the contract: when an endpoint, a status or a field
// changes, change the document in the same commit.
package docs

import _ "embed"

// OpenAPI is the OpenAPI 3.1 document (YAML) of the REST API.
//
//go:embed openapi.yaml
var OpenAPI []byte
