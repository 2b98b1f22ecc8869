// `npm run demo:upstream [-- --port N]`: the demo model provider (lib/demo) on 127.0.0.1, for
// trying Gatehouse without a provider account (README, "Try the gateway"). Ctrl-C stops it.
import { DEMO_UPSTREAM_PORT, startDemoUpstream } from '@/lib/demo/upstream';

const say = (line: string) => console.log(`demo upstream: ${line}`);

function portFromArguments(): number {
  const at = process.argv.indexOf('--port');
  const text = at >= 0 ? process.argv[at + 1] : process.env.GATEHOUSE_DEMO_UPSTREAM_PORT;
  if (text === undefined) return DEMO_UPSTREAM_PORT;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    console.error(`demo upstream: port "${text}" is not a port number (1-65535)`);
    process.exit(2);
  }
  return port;
}

const port = portFromArguments();
try {
  const upstream = await startDemoUpstream({
    port,
    onRequest: (request) => {
      const body = (request.body ?? {}) as { model?: unknown; stream?: unknown };
      say(`${request.method} ${request.path}${typeof body.model === 'string' ? ` ${body.model}` : ''}${body.stream === true ? ' (stream)' : ''}`);
    },
  });
  say(`listening on ${upstream.url} (Anthropic /v1/messages, OpenAI /v1/chat/completions); Ctrl-C stops it`);
  const stop = () => void upstream.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  console.error(
    code === 'EADDRINUSE'
      ? `demo upstream: port ${port} is in use (a demo upstream already running?); choose another with --port N or GATEHOUSE_DEMO_UPSTREAM_PORT`
      : `demo upstream: ${(error as Error).message}`,
  );
  process.exit(1);
}
