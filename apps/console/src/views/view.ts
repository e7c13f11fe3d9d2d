import type { Session } from '../session';

export interface ViewContext {
  /** null on the public pages (login). */
  session: Session | null;
  navigate(path: string, replace?: boolean): void;
}

/** A page: renders into `main`, and returns what stops its timers when the user leaves it. */
export interface View {
  title: string;
  render(main: HTMLElement, context: ViewContext): void | (() => void);
}

/** Announces a short message to screen readers (the shell's polite live region). */
export function announce(message: string): void {
  const status = document.getElementById('status');
  if (status) status.textContent = message;
}
