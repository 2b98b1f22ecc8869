import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { GatehouseMark } from '@/components/nav/Wordmark';
import { SignInForm } from '@/components/signin/SignInForm';
import { SsoButtons } from '@/components/signin/SsoButtons';
import { safeCallbackPath } from '@/lib/auth/callback-url';
import { getDashboardUser } from '@/lib/auth/session';
import { signInErrorMessage } from '@/lib/auth/sign-in-errors';
import { ssoSignInOptions } from '@/lib/auth/sso-config';
import { ssoErrorMessage } from '@/lib/auth/sso-errors';

export const metadata: Metadata = { title: 'Sign in' };

interface SignInPageProps {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export default async function SignInPage({ searchParams }: SignInPageProps) {
  const params = await searchParams;
  const callbackUrl = safeCallbackPath(first(params.callbackUrl));
  // Same check as the dashboard pages: a session for a since-disabled user must not bounce back.
  if (await getDashboardUser()) redirect(callbackUrl);
  const errorCode = first(params.error);
  // Read per request: an SSO provider added to gatehouse.yaml shows up without a restart.
  const providers = ssoSignInOptions();

  return (
    <main className="flex min-h-screen items-center justify-center px-4 py-12">
      <div className="w-full max-w-sm">
        <div className="mb-8 flex flex-col items-center text-center">
          <GatehouseMark className="h-10 w-10" />
          <h1 className="mt-3 text-2xl font-semibold tracking-tight text-slate-900">Sign in to Gatehouse</h1>
          <p className="mt-1 text-sm text-slate-600">Governance for Claude Cowork and Claude Code</p>
        </div>
        <div className="rounded-xl border border-slate-200 bg-white p-6 shadow-sm sm:p-8">
          {providers.length > 0 ? (
            <>
              <SsoButtons providers={providers} callbackUrl={callbackUrl} />
              <div className="my-6 flex items-center gap-3 text-xs uppercase tracking-wide text-slate-400" aria-hidden="true">
                <span className="h-px flex-1 bg-slate-200" />
                or with a password
                <span className="h-px flex-1 bg-slate-200" />
              </div>
            </>
          ) : null}
          <SignInForm callbackUrl={callbackUrl} initialError={ssoErrorMessage(errorCode) ?? signInErrorMessage(errorCode)} />
        </div>
      </div>
    </main>
  );
}
