import { trace } from '@opentelemetry/api';
import { registerOTel } from '@vercel/otel';
import { tracingState } from './active';

/** Where spans go, by the standard variables; none means nothing is exported (and no span is made). */
export function otlpTracesEndpoint(env: Record<string, string | undefined> = process.env): string | undefined {
  return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined;
}

/**
 * Registers the OpenTelemetry SDK (through @vercel/otel) once per process: Next's instrumentation
 * hook and the web entry both call it. Trace ids of new root spans come from the data plane, so
 * they equal the audit trace ids.
 */
export function registerTracing(serviceName = 'gatehouse'): void {
  const tracing = tracingState();
  if (tracing.registered) return;
  tracing.registered = true;
  registerOTel({ serviceName, idGenerator: tracing.ids });
  tracing.exporting = otlpTracesEndpoint() !== undefined;
}

/** Sends what is buffered (tests; shutdown). */
export async function flushTracing(): Promise<void> {
  const provider = trace.getTracerProvider() as { getDelegate?: () => unknown };
  const delegate = (provider.getDelegate?.() ?? provider) as { forceFlush?: () => Promise<void> };
  await delegate.forceFlush?.();
}
