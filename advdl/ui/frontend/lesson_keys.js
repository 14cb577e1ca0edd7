// The lesson mode's keys (advdl/ui/lesson_mode.py): → and PageDown (what a presentation clicker
// sends) go to the next step, ← and PageUp to the previous one, Esc leaves the lesson. Keys typed
// into a control (a slider, a number, a list) stay the control's.
const ACTIONS = { ArrowRight: 'next', PageDown: 'next', ArrowLeft: 'prev', PageUp: 'prev', Escape: 'leave' };
const CONTROLS = 'input, textarea, select, button[role="tab"], [contenteditable=""], [contenteditable="true"], [role="slider"], [role="listbox"], [role="combobox"], [role="spinbutton"], [role="option"]';

// A new step brings its section into view under the step bar (data.focus: a subheader's anchor),
// or the page's top; a rerun of the same step (a slider's commit) leaves the scroll alone.
function bringIntoView(data) {
  if (window.__advdlLessonAt === data.at) return;
  window.__advdlLessonAt = data.at;
  // The page draws its sections after the bar, and its images and charts then push them down:
  // look again for a few seconds, until the student scrolls by themselves.
  let own = false;
  const mine = () => { own = true; };
  ['wheel', 'touchmove', 'mousedown'].forEach((e) => document.addEventListener(e, mine, { once: true, passive: true }));
  const at = data.at;
  const since = performance.now();
  const look = () => {
    if (own || window.__advdlLessonAt !== at) return;
    const main = document.querySelector('[data-testid="stMain"]');
    const target = data.focus ? document.getElementById(data.focus) : null;
    if (target) {
      const bar = document.querySelector('.st-key-lesson-bar');
      const sticky = bar && bar.parentElement;  // the bar's wrapper sticks (lesson_mode.py's style)
      const under = sticky ? (parseFloat(getComputedStyle(sticky).top) || 0) + sticky.getBoundingClientRect().height : 0;
      target.style.scrollMarginTop = `${under + 8}px`;
      target.scrollIntoView({ block: 'start' });
    } else if (!data.focus && main) {
      main.scrollTo({ top: 0 });
    }
    if (performance.now() - since < 4000) setTimeout(look, 250);
  };
  look();
}

export default function (component) {
  const { setTriggerValue } = component;
  const data = Array.isArray(component.data) ? component.data[0] : component.data;  // scrub.send's list
  if (data) bringIntoView(data);
  const onKey = (e) => {
    const action = ACTIONS[e.key];
    if (!action || e.repeat || e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    const target = e.composedPath()[0];  // inside a component's shadow root, not its host
    if (target instanceof Element && target.closest(CONTROLS)) return;
    if (action === 'leave' && document.querySelector('[role="dialog"], [data-baseweb="popover"]')) return;  // Esc closes that first
    e.preventDefault();
    setTriggerValue('action', action);
  };
  // One listener per page, whichever render of the component added it last.
  if (window.__advdlLessonKeys) document.removeEventListener('keydown', window.__advdlLessonKeys);
  window.__advdlLessonKeys = onKey;
  document.addEventListener('keydown', onKey);
  return () => {
    document.removeEventListener('keydown', onKey);
    if (window.__advdlLessonKeys === onKey) window.__advdlLessonKeys = null;
  };
}
