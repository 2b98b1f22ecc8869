import { describe, expect, it } from 'vitest';
import { safeCallbackPath, signInPath } from './callback-url';
import { encodeSignInError, signInErrorMessage } from './sign-in-errors';

describe('sign-in error messages', () => {
  it('round-trips every failure reason to the sentence the form shows', () => {
    expect(signInErrorMessage(encodeSignInError('invalid_credentials'))).toBe('Email or password is incorrect');
    expect(signInErrorMessage(encodeSignInError('disabled'))).toBe('Account disabled');
    expect(signInErrorMessage(encodeSignInError('throttled', 850))).toBe('Too many sign-in attempts — try again in 15 minutes');
    expect(signInErrorMessage(encodeSignInError('throttled', 20))).toBe('Too many sign-in attempts — try again in 1 minute');
    expect(signInErrorMessage('CredentialsSignin')).toBe('Email or password is incorrect');
    expect(signInErrorMessage('throttled:abc')).toBe('Too many sign-in attempts — try again later');
    expect(signInErrorMessage('Configuration')).toBe('Sign-in failed — please try again');
    expect(signInErrorMessage(null)).toBeNull();
  });
});

describe('callback paths', () => {
  it('keeps paths on this site and turns everything else into /', () => {
    expect(safeCallbackPath('/audit?type=auth.sign_in')).toBe('/audit?type=auth.sign_in');
    expect(safeCallbackPath('/users')).toBe('/users');
    for (const hostile of ['//evil.example/x', '/\\evil.example', 'https://evil.example', 'javascript:alert(1)', '', undefined, 42, '/signin?callbackUrl=/']) {
      expect(safeCallbackPath(hostile), String(hostile)).toBe('/');
    }
    expect(signInPath('/audit?type=admin.change')).toBe('/signin?callbackUrl=%2Faudit%3Ftype%3Dadmin.change');
  });
});
