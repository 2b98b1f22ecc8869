import { registerOTel } from '@vercel/otel';

// Next.js calls this once per server start. Spans of the dashboard and App Router routes are
// exported only when the operator configures an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT and
// friends); without one nothing leaves the process.
export function register(): void {
  registerOTel({ serviceName: 'gatehouse' });
}
