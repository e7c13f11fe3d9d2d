import { SseParser } from './sse-parser';

describe('SseParser', () => {
  it('parses events split across chunks at any point', () => {
    const text = ': ping\n\nevent: config\nid: 3\ndata: {"a":\ndata: 1}\n\nevent: patch\r\nid: 4\r\ndata: {}\r\n\r\n';
    for (let cut = 0; cut < text.length; cut++) {
      const parser = new SseParser();
      const events = [...parser.push(text.slice(0, cut)), ...parser.push(text.slice(cut))];
      expect(events).toEqual([
        { event: 'config', data: '{"a":\n1}', id: '3' },
        { event: 'patch', data: '{}', id: '4' },
      ]);
    }
  });

  it('keeps the last id for later events and defaults the event name', () => {
    const parser = new SseParser();
    expect(parser.push('id: 7\ndata: x\n\ndata:y\n\n')).toEqual([
      { event: 'message', data: 'x', id: '7' },
      { event: 'message', data: 'y', id: '7' },
    ]);
  });

  it('ignores an event name without data', () => {
    expect(new SseParser().push('event: config\n\n')).toEqual([]);
  });
});
