import type { DashboardUser } from '@/lib/auth/session';
import { NavLinks, type NavItem } from './NavLinks';
import { SignOutButton } from './SignOutButton';
import { Wordmark } from './Wordmark';

/** `items` are the pages the user may open (navigation.ts decides, through lib/rbac). */
export function TopNav({ user, items }: { user: DashboardUser | null; items: NavItem[] }) {
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-7xl flex-wrap items-center gap-x-6 gap-y-2 px-4 py-3 sm:px-6 lg:px-8">
        <Wordmark />
        <nav aria-label="Main" className="order-3 w-full sm:order-none sm:w-auto sm:flex-1">
          {user ? <NavLinks items={items} /> : null}
        </nav>
        {user ? (
          <div className="ml-auto flex items-center gap-3">
            <div className="hidden text-right sm:block">
              <p className="text-sm font-medium text-slate-900" data-testid="signed-in-name">{user.name}</p>
              <p className="text-xs text-slate-500">{user.email}</p>
            </div>
            <SignOutButton />
          </div>
        ) : null}
      </div>
    </header>
  );
}
