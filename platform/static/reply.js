// The Message Center's one script: large attachments for a reply, uploaded in pieces with
// progress, resumed where they stopped when the connection drops (platform/src/center/upload.rs
// is the other side). Without it, the form posts small attachments in one go — the page works
// either way. Only replies with attachments go through here; drafts and replies without files
// are the plain form.
'use strict';

(() => {
  const form = document.querySelector('form[data-uploads]');
  if (!form || !window.fetch || !window.Blob) return;
  const files = form.querySelector('input[type=file]');
  const box = document.getElementById('upload');
  const said = document.getElementById('upload-status');
  const bar = document.getElementById('upload-progress');
  const resume = document.getElementById('upload-resume');
  const buttons = form.querySelectorAll('button[type=submit]');
  const base = form.dataset.uploads;
  const label = form.querySelector('label[for=' + files.id + ']');
  // The words, in the page's language (center::reply::script_words); `{name}` is filled in.
  const words = JSON.parse(form.dataset.words || '{}');
  const say = (key, fill = {}) => (words[key] || key)
    .replace(/\{(\w+)\}/g, (all, name) => (name in fill ? String(fill[name]) : all));
  if (label) label.textContent = say('label', { limit: form.dataset.largeLimit });

  // Waits between tries after a lost connection: a second, then longer, at most half a minute.
  // After the last, the upload pauses until the reader resumes it (or the browser is back
  // online).
  const WAITS = [1000, 2000, 4000, 8000, 15000, 30000];

  class Refused extends Error {}

  const size = (n) => {
    const units = ['bytes', 'KB', 'MB', 'GB'];
    let unit = 0;
    while (n >= 1000 && unit < units.length - 1) { n /= 1000; unit += 1; }
    return unit === 0 ? say('bytes', { n })
      : n.toFixed(1).replace('.', words.decimal || '.') + ' ' + units[unit];
  };

  const show = (text) => { box.hidden = false; said.textContent = text; };
  // How far the upload is, in words: kept to say again while the connection is down.
  let stored = '';

  // One request to the Center. Resolves with the JSON answer; rejects with Refused (the Center
  // said no: its reason, nothing to retry) or any other error (the connection: retry).
  const call = async (method, url, body) => {
    const headers = { 'X-CSRF-Token': form.dataset.csrf };
    if (body !== undefined && !(body instanceof Blob)) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(body);
    }
    const answer = await fetch(url, { method, headers, body, credentials: 'same-origin' });
    const json = (answer.headers.get('Content-Type') || '').includes('application/json')
      ? await answer.json() : null;
    if (answer.ok && json) return json;
    // The API's messages are English: its error code, in the page's language, where known.
    const reason = json && json.error
      ? (words['error-' + json.error.code] || json.error.message) : 'HTTP ' + answer.status;
    if (answer.status >= 500 || answer.status === 409 || answer.status === 408 || !json) {
      throw new Error(reason);
    }
    throw new Refused(reason);
  };

  // Waits before the next try: `tries` so far. Past the last wait, until the reader resumes.
  const pause = (tries) => new Promise((go) => {
    if (tries < WAITS.length) {
      show(say('retrying', { stored }));
      setTimeout(go, WAITS[tries]);
      return;
    }
    show(say('paused', { stored }));
    resume.hidden = false;
    const again = () => {
      resume.hidden = true;
      resume.removeEventListener('click', again);
      window.removeEventListener('online', again);
      go();
    };
    resume.addEventListener('click', again);
    window.addEventListener('online', again);
  });

  // `step` until it succeeds, pausing after each lost connection.
  const persist = async (step) => {
    for (let tries = 0; ; tries += 1) {
      try {
        return await step();
      } catch (e) {
        if (e instanceof Refused) throw e;
        await pause(tries);
      }
    }
  };

  const upload = async (chosen) => {
    const fields = new FormData(form);
    const total = chosen.reduce((sum, f) => sum + f.size, 0);
    show(say('preparing', { size: size(total) }));
    let status = await persist(() => call('POST', base, {
      subject: fields.get('subject') || '',
      text: fields.get('text') || '',
      all: fields.get('all') === '1',
      fresh: fields.get('fresh') === '1',
      draft: fields.get('draft') ? Number(fields.get('draft')) : null,
      files: chosen.map((f) => ({ name: f.name, type: f.type, size: f.size })),
    }));
    const here = base + '/' + encodeURIComponent(status.id);
    const progress = () => {
      const done = status.parts.reduce((sum, p) => sum + p.received, 0);
      bar.value = total ? Math.floor((done / total) * 1000) : 1000;
      stored = say('stored', { done: size(done), total: size(total), percent: Math.floor(bar.value / 10) });
      show(say('progress', { stored }));
    };
    progress();
    let tries = 0;
    for (let i = 0; i < chosen.length; i += 1) {
      while (!status.parts[i].complete) {
        const part = status.parts[i];
        const end = Math.min(part.received + status.piece_bytes, part.size);
        try {
          status = await call('PUT', here + '/' + part.part + '?at=' + part.received,
            chosen[i].slice(part.received, end));
          tries = 0;
        } catch (e) {
          if (e instanceof Refused) throw e;
          await pause(tries);
          tries += 1;
          // Where the Center stands now: the piece may have arrived though its answer did not.
          try { status = await call('GET', here); } catch (lost) {
            if (lost instanceof Refused) throw lost;
          }
        }
        progress();
      }
    }
    show(say('sealing'));
    const sent = await persist(() => call('POST', here + '/send'));
    window.location.assign(sent.location);
  };

  let busy = false;
  form.addEventListener('submit', (event) => {
    const action = event.submitter ? event.submitter.value : 'send';
    if (action !== 'send' || files.files.length === 0) return;
    event.preventDefault();
    if (busy) return;
    busy = true;
    buttons.forEach((b) => { b.disabled = true; });
    upload(Array.from(files.files)).catch((e) => {
      busy = false;
      buttons.forEach((b) => { b.disabled = false; });
      bar.value = 0;
      show(say('failed', { reason: e.message }));
    });
  });
})();
