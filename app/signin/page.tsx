import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { GatehouseMark } from '@/components/nav/Wordmark';
import { SignInForm } from '@/components/signin/SignInForm';
import { safeCallbackPath } from '@/lib/auth/callback-url';
import { getDashboardUser } from '@/lib/auth/session';
import { signInErrorMessage } from '@/lib/auth/sign-in-errors';

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

  return (
    <main className="flex min-h-screen items-center justify-center px-4 py-12">
      <div className="w-full max-w-sm">
        <div className="mb-8 flex flex-col items-center text-center">
          <GatehouseMark className="h-10 w-10 text-indigo-600" />
          <h1 className="mt-3 text-2xl font-semibold tracking-tight text-slate-900">Sign in to Gatehouse</h1>
          <p className="mt-1 text-sm text-slate-600">Governance for Claude Cowork and Claude Code</p>
        </div>
        <div className="rounded-xl border border-slate-200 bg-white p-6 shadow-sm sm:p-8">
          <SignInForm callbackUrl={callbackUrl} initialError={signInErrorMessage(first(params.error))} />
        </div>
      </div>
    </main>
  );
}
