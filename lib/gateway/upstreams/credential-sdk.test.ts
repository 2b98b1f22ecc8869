// A credential SDK that fails to import and one that throws while being set up are both the
// target's credential error, with different messages: only the first is a damaged install.
import { describe, expect, it } from 'vitest';
import { CredentialError, lazyCredentialSdk } from './adapter';

describe('lazyCredentialSdk', () => {
  it('calls a failed import a damaged install, naming the package', async () => {
    const sdk = lazyCredentialSdk('some-sdk', () => Promise.reject(new Error("Cannot find module 'some-sdk'")), (modules) => modules);
    const error = await sdk().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CredentialError);
    expect((error as Error).message).toBe("could not load some-sdk (the upstream's credential library): reinstall the dependencies");
  });

  it("keeps the SDK's own message when its set-up throws, and tries again on the next call", async () => {
    let setUps = 0;
    const sdk = lazyCredentialSdk('some-sdk', () => Promise.resolve({ version: 1 }), (modules) => {
      setUps++;
      if (setUps === 1) throw new Error('profile "work" not found in ~/.aws/config');
      return modules.version;
    });
    const error = await sdk().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CredentialError);
    expect((error as Error).message).toBe(`some-sdk could not set up the upstream's credentials: profile "work" not found in ~/.aws/config`);
    expect((error as Error).message).not.toContain('reinstall');
    await expect(sdk()).resolves.toBe(1);
  });
});
