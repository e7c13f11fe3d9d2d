import type { EnrollmentKeyCreated } from '@meshgate/contracts';
import { api, ApiError } from '../api-client';
import { field, h, when } from '../dom';
import { announce, View } from './view';

/** GET /api/v1/enrollment-keys's rows (the controller's answer; never the secret). */
interface EnrollmentKeyRow {
  id: string; reusable: boolean; ephemeral: boolean; expiresAt: string | null; tags: string[];
  createdBy: string | null; uses: number; revoked: boolean; createdAt: string;
}

export const enrollmentKeysView: View = {
  title: 'Enrollment keys',
  render(main) {
    const reusable = h('input', { type: 'checkbox' });
    const ephemeral = h('input', { type: 'checkbox' });
    const hours = h('input', { type: 'number', min: 1, max: 8760, value: 24, required: true });
    const tags = h('input', { type: 'text', placeholder: 'tag:web tag:prod' });
    const errors = h('div', { class: 'error', role: 'alert', hidden: true });
    const created = h('div', { class: 'created', 'aria-live': 'polite' });
    const body = h('tbody');
    const table = h('table', { class: 'data' }, h('caption', { class: 'visually-hidden' }, 'Enrollment keys'),
      h('thead', {}, h('tr', {}, ...['Key id', 'Reusable', 'Ephemeral', 'Tags', 'Uses', 'Expires', 'Created', 'State', ''].map((t) => h('th', { scope: 'col' }, t)))),
      body);
    const form = h('form', { class: 'card', 'aria-labelledby': 'new-key' }, h('h2', { id: 'new-key' }, 'New key'),
      h('div', { class: 'checks' }, field('Reusable', reusable, 'Enrolls any number of nodes until it expires.'),
        field('Ephemeral', ephemeral, 'Its nodes are removed once inactive.')),
      field('Expires in (hours)', hours), field('Tags', tags, 'Space-separated; its nodes get them.'),
      errors, h('button', { type: 'submit', class: 'primary' }, 'Create key'), created);

    const list = async () => {
      try {
        const keys = (await api<EnrollmentKeyRow[]>('GET', '/api/v1/enrollment-keys')).body;
        body.replaceChildren(...keys.map((k) => {
          const revoke = h('button', { type: 'button', disabled: k.revoked, 'aria-label': `Revoke key ${k.id}` }, 'Revoke');
          revoke.addEventListener('click', async () => {
            if (!confirm(`Revoke key ${k.id}? Nodes can no longer enroll with it.`)) return;
            try {
              await api('DELETE', `/api/v1/enrollment-keys/${k.id}`);
              announce(`Key ${k.id} revoked`);
              await list();
            } catch (error) {
              errors.hidden = false;
              errors.textContent = error instanceof ApiError ? error.message : String(error);
            }
          });
          return h('tr', { 'data-key': k.id }, h('th', { scope: 'row' }, h('code', {}, k.id)), h('td', {}, k.reusable ? 'yes' : 'no'),
            h('td', {}, k.ephemeral ? 'yes' : 'no'), h('td', {}, k.tags.join(' ') || '—'), h('td', {}, k.uses),
            h('td', {}, when(k.expiresAt)), h('td', {}, when(k.createdAt)), h('td', {}, k.revoked ? 'revoked' : 'active'), h('td', {}, revoke));
        }));
      } catch (error) {
        errors.hidden = false;
        errors.textContent = `Could not list the keys: ${error instanceof ApiError ? error.message : String(error)}`;
      }
    };

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      errors.hidden = true;
      try {
        const key = (await api<EnrollmentKeyCreated>('POST', '/api/v1/enrollment-keys', {
          body: {
            reusable: reusable.checked, ephemeral: ephemeral.checked, expiresInSeconds: Math.round(Number(hours.value) * 3600),
            ...(tags.value.trim() ? { tags: tags.value.trim().split(/\s+/) } : {}),
          },
        })).body;
        const secret = h('input', { type: 'text', readonly: true, value: key.key, class: 'code secret' });
        created.replaceChildren(h('p', {}, 'Copy the key now: it is shown only once.'), field('New enrollment key', secret));
        secret.select();
        secret.focus();
        await list();
      } catch (error) {
        errors.hidden = false;
        errors.replaceChildren(...(error instanceof ApiError ? error.messages : [String(error)]).map((m) => h('p', {}, m)));
      }
    });
    main.append(h('h1', {}, 'Enrollment keys'), form, h('h2', {}, 'Keys'), h('div', { class: 'table-scroll' }, table));
    void list();
  },
};
