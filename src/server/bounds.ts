/**
 * What one client may cost the webhook server: how long it may take to send a request, how long
 * an idle connection is kept, how long a TLS handshake may take, and how many connections are
 * held at once. The defaults are chosen for the only real client, the Kubernetes API server: it
 * opens few connections, sends each AdmissionReview at once (a few KiB, at most a few MiB), and
 * gives up on a webhook call after its timeoutSeconds (2–3 s here, 30 s at most). README.md,
 * "Server bounds", explains each default.
 */
export interface ServerBounds {
  /** The request line and headers must arrive within this, from the first byte of the request. */
  headersTimeoutMs: number;
  /** The whole request (headers and body) must arrive within this. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** A TLS handshake (ClientHello to Finished) must complete within this. */
  tlsHandshakeTimeoutMs: number;
  /** Connections held at once; one more is closed as soon as it is accepted. */
  maxConnections: number;
  /** Bodies larger than this are received and parsed at most largeBodySlots at a time (./largeBodies.ts). */
  largeBodyBytes: number;
  largeBodySlots: number;
}

export const DEFAULT_SERVER_BOUNDS: Readonly<ServerBounds> = {
  // The API server writes the whole AdmissionReview at once and waits at most 30 s for the answer;
  // 10 s is far beyond any real request and a third of that ceiling.
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
  // Longer than the 90 s for which the API server's Go HTTP client keeps an idle connection
  // (net/http's IdleConnTimeout, which client-go's transport keeps), so the client always closes
  // first: a server that closes first races the client writing a POST on that connection, and Go
  // does not retry a POST whose bytes were sent, so one admission call would fail.
  keepAliveTimeoutMs: 95_000,
  // The API server's own TLS handshake timeout is 10 s; a handshake that takes longer serves nobody.
  tlsHandshakeTimeoutMs: 10_000,
  // Each API server instance keeps at most 25 idle connections to a webhook and opens more only
  // for concurrent calls; kubelet probes use one short connection each. 256 leaves room for several
  // API server replicas and bursts, and bounds connection memory (about 45 KiB each with TLS) to
  // about 11 MiB. See manifests/deployment.yaml for the memory arithmetic.
  maxConnections: 256,
  // The API server's AdmissionReview for a real policy is a few KiB (tens with kubectl's
  // last-applied annotation and managedFields); 256 KiB is above any policy within the default
  // limits.maxPolicyElements. One large body at a time: a normal admission then waits behind at
  // most one large parse, and the memory large bodies hold is one body and its parsed object.
  largeBodyBytes: 256 * 1024,
  largeBodySlots: 1,
};

/** How often Node checks the header and request timeouts: a fraction of the shortest, at most 1 s. */
export function connectionsCheckingIntervalMs(bounds: Pick<ServerBounds, 'headersTimeoutMs' | 'requestTimeoutMs'>): number {
  return Math.max(10, Math.min(1_000, Math.floor(Math.min(bounds.headersTimeoutMs, bounds.requestTimeoutMs) / 4)));
}

/** Problems with a set of bounds, each naming the bound; empty when they can be used. */
export function serverBoundsProblems(bounds: ServerBounds): string[] {
  const problems: string[] = [];
  for (const key of ['headersTimeoutMs', 'requestTimeoutMs', 'keepAliveTimeoutMs', 'tlsHandshakeTimeoutMs'] as const) {
    if (!(Number.isInteger(bounds[key]) && bounds[key] > 0)) problems.push(`${key}: must be a positive number of milliseconds, got ${bounds[key]}`);
  }
  for (const key of ['maxConnections', 'largeBodyBytes', 'largeBodySlots'] as const) {
    if (!(Number.isInteger(bounds[key]) && bounds[key] > 0)) problems.push(`${key}: must be a positive whole number, got ${bounds[key]}`);
  }
  // Node refuses a headers timeout longer than the request timeout: the headers are part of the request.
  if (bounds.headersTimeoutMs > bounds.requestTimeoutMs) {
    problems.push(`headersTimeoutMs (${bounds.headersTimeoutMs}) must not be longer than requestTimeoutMs (${bounds.requestTimeoutMs})`);
  }
  return problems;
}
