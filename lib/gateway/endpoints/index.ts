// The gateway's bearer endpoints besides /v1/messages: managed settings, usage and OTLP
// telemetry. lib/gateway/routes.ts mounts them behind withGatewayCaller, like every endpoint.
export { canonicalJson, handleManagedSettings, managedSettingsFor, settingsChecksum, type ManagedSettingsDocument } from './managed-settings';
export { handleTelemetry, summariseExport, MAX_TELEMETRY_BYTES, TELEMETRY_SUMMARY_WINDOW_MS, type TelemetrySummary } from './telemetry';
export { handleUsage } from './usage';
export { handleBootstrap } from './bootstrap';
export { OTLP_ROOT, OTLP_SIGNALS, type OtlpSignal } from './otlp-schema';
