// The guide's web-frontend client (`../shared/spec/guides/building-with-hyperbeam.txt`,
// "Web Frontend Integration"), as printed — its two read methods, which the tests use against a
// ferrobeam node. (Its `sendMessage` shadows aoconnect's `message` with a local of the same name
// and cannot run as printed; the tests send with aoconnect directly.)
export class AOProcessClient {
  constructor(processId, hyperbeamUrl = "https://forward.computer") {
    this.processId = processId;
    this.hyperbeamUrl = hyperbeamUrl;
  }
  // Read state via HTTP
  async getState(key) {
    const url = `${this.hyperbeamUrl}/${this.processId}~process@1.0/compute/${key}`;
    const response = await fetch(url);
    return await response.text();
  }
  // Get dynamic computation result
  async getDynamicResult(scriptTxId, functionName) {
    const url = `${this.hyperbeamUrl}/${this.processId}~process@1.0/now/~lua@5.3a&module=${scriptTxId}/${functionName}/serialize~json@1.0`;
    const response = await fetch(url);
    return await response.json();
  }
}
