// Next.js calls this once per server start, in each runtime it compiles for. Spans of the
// dashboard, App Router routes and the data plane (lib/tracing) are exported only when the
// operator configures an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT and friends); without one
// nothing leaves the process. Tracing is loaded only in the Node.js runtime: it uses node:crypto,
// and the guarded dynamic import keeps it out of the Edge bundle.
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { registerTracing } = await import('@/lib/tracing/register');
  registerTracing();
}
