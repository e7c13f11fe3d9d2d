import type { AuditPage } from '@meshgate/contracts';
import { api, ApiError } from '../api-client';
import { field, h, when } from '../dom';
import { View } from './view';

const PAGE_SIZES = [10, 50, 200];

export const auditLogView: View = {
  title: 'Audit log',
  render(main) {
    const type = h('input', { type: 'text', placeholder: 'PolicyUpdated', pattern: '[A-Za-z]{1,64}' });
    const actor = h('input', { type: 'text', placeholder: 'a user, node or system id' });
    const size = h('select', {}, ...PAGE_SIZES.map((n) => h('option', { value: n, selected: n === 50 }, n)));
    const status = h('p', { class: 'summary', 'aria-live': 'polite' });
    const body = h('tbody');
    const newer = h('button', { type: 'button', disabled: true }, 'Newest');
    const older = h('button', { type: 'button', disabled: true }, 'Older');
    const table = h('table', { class: 'data' }, h('caption', { class: 'visually-hidden' }, 'Audit log, newest first'),
      h('thead', {}, h('tr', {}, ...['#', 'When', 'Actor', 'Event', 'Subject', 'Details'].map((t) => h('th', { scope: 'col' }, t)))), body);
    /** Cursors of the pages shown so far: the first is the newest page (no cursor). */
    let cursors: Array<string | undefined> = [undefined];
    let next: string | null = null;

    const load = async () => {
      const query = new URLSearchParams({ limit: size.value });
      const cursor = cursors[cursors.length - 1];
      if (cursor) query.set('cursor', cursor);
      if (type.value.trim()) query.set('type', type.value.trim());
      if (actor.value.trim()) query.set('actor', actor.value.trim());
      try {
        const page = (await api<AuditPage>('GET', `/api/v1/audit?${query}`)).body;
        next = page.nextCursor;
        body.replaceChildren(...page.items.map((e) => h('tr', {},
          h('td', {}, e.position), h('td', {}, when(e.at)), h('td', {}, `${e.actor.kind} ${e.actor.id}`),
          h('th', { scope: 'row' }, e.type), h('td', {}, e.subject), h('td', {}, h('code', {}, JSON.stringify(e.details))))));
        status.textContent = `Page ${cursors.length}: ${page.items.length} entr${page.items.length === 1 ? 'y' : 'ies'}${next ? '' : ' (the oldest)'}`;
        older.disabled = next === null;
        newer.disabled = cursors.length === 1;
      } catch (error) {
        status.textContent = `Could not read the audit log: ${error instanceof ApiError ? error.message : String(error)}`;
      }
    };
    const filters = h('form', { class: 'toolbar', 'aria-label': 'Filter the audit log' }, field('Event type', type), field('Actor', actor), field('Per page', size),
      h('button', { type: 'submit' }, 'Filter'));
    filters.addEventListener('submit', (event) => {
      event.preventDefault();
      cursors = [undefined];
      void load();
    });
    older.addEventListener('click', () => {
      if (next === null) return;
      cursors.push(next);
      void load();
    });
    newer.addEventListener('click', () => {
      cursors = [undefined];
      void load();
    });
    main.append(h('h1', {}, 'Audit log'), filters, status, h('div', { class: 'table-scroll' }, table),
      h('nav', { class: 'toolbar', 'aria-label': 'Audit pages' }, newer, older));
    void load();
  },
};
