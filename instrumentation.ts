import { registerTracing } from '@/lib/tracing/register';

// Next.js calls this once per server start. Spans of the dashboard, App Router routes and the data
// plane (lib/tracing) are exported only when the operator configures an OTLP endpoint
// (OTEL_EXPORTER_OTLP_ENDPOINT and friends); without one nothing leaves the process.
export function register(): void {
  registerTracing();
}
