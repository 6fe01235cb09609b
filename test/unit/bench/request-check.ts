// Test helper: splits one rendered HTTP/1.1 request into request line, headers and body.
export const Http1RequestCheck = {
  parse(text: string): { requestLine: string; headers: Record<string, string>; body: string } {
    const end = text.indexOf("\r\n\r\n");
    if (end < 0) throw new Error("no end of headers");
    const [requestLine, ...lines] = text.slice(0, end).split("\r\n");
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    return { requestLine: requestLine ?? "", headers, body: text.slice(end + 4) };
  },
};
