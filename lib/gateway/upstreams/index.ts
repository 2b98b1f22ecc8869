export { dispatch, dispatchCountTokens } from './dispatch';
export { circuitState, resetCircuitBreakers } from './circuit-breaker';
export { resetUpstreamTuning, tuneUpstreams, upstreamTuning, type UpstreamLogger, type UpstreamTuning } from './tuning';
export { STREAM_DIED_MESSAGE } from './stream-guard';
