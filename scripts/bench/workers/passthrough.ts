// The physical floor of one service-binding hop: forward the request, nothing else.
export default {
  fetch: (request: Request, env: { APP: Fetcher }) => env.APP.fetch(request),
} satisfies ExportedHandler<{ APP: Fetcher }>;
