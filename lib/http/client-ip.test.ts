import { afterEach, describe, expect, it } from 'vitest';
import { clientIp } from './client-ip';

function request(forwardedFor: string): Request {
  return new Request('http://gatehouse.test/', { headers: { 'x-forwarded-for': forwardedFor } });
}

describe('clientIp', () => {
  afterEach(() => {
    delete process.env.GATEHOUSE_TRUSTED_PROXIES;
  });

  it('believes a loopback proxy about the address before it, and nothing further left', () => {
    // "spoofed" was sent by the client; 203.0.113.9 was added by the proxy on 127.0.0.1.
    expect(clientIp(request('198.51.100.1, 203.0.113.9, 127.0.0.1'))).toBe('203.0.113.9');
  });

  it('uses the socket peer when it is not a trusted proxy', () => {
    expect(clientIp(request('198.51.100.1, 192.0.2.44'))).toBe('192.0.2.44');
  });

  it('honours configured proxies and ranges, and "none"', () => {
    process.env.GATEHOUSE_TRUSTED_PROXIES = '10.0.0.0/8';
    expect(clientIp(request('203.0.113.9, 10.1.2.3'))).toBe('203.0.113.9');
    process.env.GATEHOUSE_TRUSTED_PROXIES = 'none';
    expect(clientIp(request('203.0.113.9, 127.0.0.1'))).toBe('127.0.0.1');
  });

  it('normalises IPv4-mapped IPv6 and ignores garbage', () => {
    expect(clientIp(request('::ffff:192.0.2.7'))).toBe('192.0.2.7');
    expect(clientIp(request('not-an-ip, 127.0.0.1'))).toBe('127.0.0.1');
    expect(clientIp(new Request('http://gatehouse.test/'))).toBeUndefined();
  });
});
