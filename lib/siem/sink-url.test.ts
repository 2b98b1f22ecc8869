import { describe, expect, it } from 'vitest';
import { createSinkForm } from './admin';

function parseUrl(url: string) {
  return createSinkForm.safeParse({ id: 'splunk-prod', type: 'splunk_hec', url });
}

describe('dashboard SIEM sink URL', () => {
  it('accepts public and company-network receivers', () => {
    expect(parseUrl('https://splunk.example.com:8088').success).toBe(true);
    expect(parseUrl('http://10.0.4.12:8088').success).toBe(true);
    expect(parseUrl('http://127.0.0.1:9000/intake').success).toBe(true);
  });

  it('refuses cloud metadata services, by name or link-local address', () => {
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://metadata.google.internal/computeMetadata/v1/', 'http://[fe80::1]/', 'http://METADATA.GOOGLE.INTERNAL./x']) {
      const result = parseUrl(url);
      expect(result.success, url).toBe(false);
      expect(JSON.stringify(result.error?.issues)).toContain('cloud metadata');
    }
  });
});
