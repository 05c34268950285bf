// Istio's ext-authz sample server (samples/extauthz), HTTP mode, as a Worker: a request carrying
// `x-ext-authz: allow` is allowed, and the upstream learns it from `x-ext-authz-check-result`;
// anything else is denied with 403 and a body saying why. The mesh sends it each check with the
// checked request's method, path (after the provider's pathPrefix), host and the headers the
// provider lists in includeRequestHeadersInCheck.

const CHECK_HEADER = "x-ext-authz";
const ALLOWED_VALUE = "allow";
const RESULT_HEADER = "x-ext-authz-check-result";

export default {
  fetch(request: Request): Response {
    const url = new URL(request.url);
    const received = `${request.method} ${url.host}${url.pathname}${url.search}, ${CHECK_HEADER}: ${request.headers.get(CHECK_HEADER) ?? "(none)"}`;
    if (request.headers.get(CHECK_HEADER) === ALLOWED_VALUE)
      return new Response(null, {
        status: 200,
        headers: { [RESULT_HEADER]: "allowed", "x-ext-authz-check-received": received },
      });
    return new Response(
      `denied by ext_authz for not found header \`${CHECK_HEADER}: ${ALLOWED_VALUE}\` in the request\n`,
      {
        status: 403,
        headers: { [RESULT_HEADER]: "denied", "x-ext-authz-check-received": received, "content-type": "text/plain" },
      },
    );
  },
};
