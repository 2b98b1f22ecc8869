import protobuf from 'protobufjs';

/**
 * Just enough of the OTLP protobuf schema (opentelemetry-proto, collector/*\/v1) to summarise an
 * export and read Claude Code's figures: resources and their attributes, metric names and the
 * number points of sums and gauges, log records with their time, attributes and event names,
 * span names. Field numbers are the spec's; histogram-like points are declared empty so their
 * contents are skipped. Field names are the lowerCamelCase of OTLP/JSON, so a decoded protobuf
 * export and a parsed JSON one have the same shape.
 */
const repeated = (type: string, id: number) => ({ rule: 'repeated', type, id });
const field = (type: string, id: number) => ({ type, id });

const descriptor = {
  nested: {
    AnyValue: {
      oneofs: { value: { oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'] } },
      fields: {
        stringValue: field('string', 1),
        boolValue: field('bool', 2),
        intValue: field('int64', 3),
        doubleValue: field('double', 4),
        arrayValue: field('ArrayValue', 5),
        kvlistValue: field('KeyValueList', 6),
        bytesValue: field('bytes', 7),
      },
    },
    ArrayValue: { fields: { values: repeated('AnyValue', 1) } },
    KeyValueList: { fields: { values: repeated('KeyValue', 1) } },
    KeyValue: { fields: { key: field('string', 1), value: field('AnyValue', 2) } },
    Resource: { fields: { attributes: repeated('KeyValue', 1) } },
    InstrumentationScope: { fields: { name: field('string', 1), version: field('string', 2) } },

    ExportMetricsServiceRequest: { fields: { resourceMetrics: repeated('ResourceMetrics', 1) } },
    ResourceMetrics: { fields: { resource: field('Resource', 1), scopeMetrics: repeated('ScopeMetrics', 2) } },
    ScopeMetrics: { fields: { scope: field('InstrumentationScope', 1), metrics: repeated('Metric', 2) } },
    Metric: {
      fields: {
        name: field('string', 1),
        gauge: field('NumberPoints', 5),
        sum: field('Sum', 7),
        histogram: field('DataPoints', 9),
        exponentialHistogram: field('DataPoints', 10),
        summary: field('DataPoints', 11),
      },
    },
    // Gauge, Sum, Histogram, ExponentialHistogram and Summary all keep their points in field 1.
    // Histogram-like points are skipped; the number points of sums and gauges are read
    // (Claude Code's token, cost and active-time counters are sums).
    DataPoints: { fields: { dataPoints: repeated('DataPoint', 1) } },
    DataPoint: { fields: {} },
    NumberPoints: { fields: { dataPoints: repeated('NumberDataPoint', 1) } },
    Sum: { fields: { dataPoints: repeated('NumberDataPoint', 1), aggregationTemporality: field('int32', 2), isMonotonic: field('bool', 3) } },
    NumberDataPoint: {
      oneofs: { value: { oneof: ['asDouble', 'asInt'] } },
      fields: {
        attributes: repeated('KeyValue', 7),
        startTimeUnixNano: field('fixed64', 2),
        timeUnixNano: field('fixed64', 3),
        asDouble: field('double', 4),
        asInt: field('sfixed64', 6),
      },
    },

    ExportLogsServiceRequest: { fields: { resourceLogs: repeated('ResourceLogs', 1) } },
    ResourceLogs: { fields: { resource: field('Resource', 1), scopeLogs: repeated('ScopeLogs', 2) } },
    ScopeLogs: { fields: { scope: field('InstrumentationScope', 1), logRecords: repeated('LogRecord', 2) } },
    LogRecord: {
      fields: {
        timeUnixNano: field('fixed64', 1),
        observedTimeUnixNano: field('fixed64', 11),
        body: field('AnyValue', 5),
        attributes: repeated('KeyValue', 6),
        eventName: field('string', 12),
      },
    },

    ExportTraceServiceRequest: { fields: { resourceSpans: repeated('ResourceSpans', 1) } },
    ResourceSpans: { fields: { resource: field('Resource', 1), scopeSpans: repeated('ScopeSpans', 2) } },
    ScopeSpans: { fields: { scope: field('InstrumentationScope', 1), spans: repeated('Span', 2) } },
    Span: { fields: { name: field('string', 5) } },

    // google.rpc.Status, the body of OTLP error responses.
    Status: { fields: { code: field('int32', 1), message: field('string', 2) } },
  },
};

export const OTLP_ROOT = protobuf.Root.fromJSON(descriptor);

export const OTLP_SIGNALS = {
  metrics: { request: OTLP_ROOT.lookupType('ExportMetricsServiceRequest'), resources: 'resourceMetrics', scopes: 'scopeMetrics', items: 'metrics' },
  logs: { request: OTLP_ROOT.lookupType('ExportLogsServiceRequest'), resources: 'resourceLogs', scopes: 'scopeLogs', items: 'logRecords' },
  traces: { request: OTLP_ROOT.lookupType('ExportTraceServiceRequest'), resources: 'resourceSpans', scopes: 'scopeSpans', items: 'spans' },
} as const;

export type OtlpSignal = keyof typeof OTLP_SIGNALS;

export const OTLP_STATUS = OTLP_ROOT.lookupType('Status');
