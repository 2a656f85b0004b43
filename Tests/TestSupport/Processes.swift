import Foundation

/// Where a child process's standard input comes from.
public enum ProcessInput: Sendable {
    /// The test process's own standard input.
    case inherit
    /// `/dev/null`: end of input at once.
    case null
    /// This text through a pipe, closed after it (empty text: end of input at once).
    case text(String)
}

/// Where a child process's standard output or standard error goes.
public enum ProcessOutputDestination {
    /// The test process's own stream.
    case inherit
    /// `/dev/null`.
    case discard
    /// This file, created or emptied first.
    case file(URL)
    /// This pipe (for a test that reads the output while the process runs).
    case pipe(Pipe)
    /// Wherever standard output goes (for standard error only).
    case standardOutput
    /// Into the ``ProcessResult`` (``runProcess(_:_:input:environment:currentDirectory:standardOutput:standardError:)``
    /// only), through a temporary file: neither a full pipe nor a background child that keeps the
    /// stream open can stall the test.
    case capture
}

/// How a process that ran to its end exited, and what it printed.
public struct ProcessResult: Sendable {
    /// The exit status, or the number of the signal that ended it.
    public var status: Int32
    /// The standard output (captured or written to a file), empty otherwise.
    public var stdout: String
    /// The standard error (captured or written to a file), empty otherwise.
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) { (self.status, self.stdout, self.stderr) = (status, stdout, stderr) }
}

/// Starts `executable` with `arguments` and returns without waiting: the caller stops it, waits for
/// it and reads what it wrote. `environment` `nil` passes the test process's own;
/// `currentDirectory` `nil` keeps the test process's. `.capture` is for ``runProcess`` only.
public func startProcess(
    _ executable: URL, _ arguments: [String], input: ProcessInput = .inherit, environment: [String: String]? = nil,
    currentDirectory: URL? = nil, standardOutput: ProcessOutputDestination = .inherit,
    standardError: ProcessOutputDestination = .inherit
) throws -> Process {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let currentDirectory { process.currentDirectoryURL = currentDirectory }
    var opened: [FileHandle] = []
    defer { for handle in opened { try? handle.close() } }
    func destination(_ d: ProcessOutputDestination) throws -> Any? {
        switch d {
        case .inherit: return nil
        case .discard: return FileHandle.nullDevice
        case .file(let url):
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
            }
            let handle = try FileHandle(forWritingTo: url)
            opened.append(handle)
            return handle
        case .pipe(let pipe): return pipe
        case .standardOutput: preconditionFailure("only standard error can go to standard output")
        case .capture: preconditionFailure(".capture is for runProcess")
        }
    }
    if let out = try destination(standardOutput) { process.standardOutput = out }
    if case .standardOutput = standardError {
        if let out = process.standardOutput { process.standardError = out }
    } else if let err = try destination(standardError) {
        process.standardError = err
    }
    var inputPipe: Pipe?
    switch input {
    case .inherit: break
    case .null: process.standardInput = FileHandle.nullDevice
    case .text:
        let pipe = Pipe()
        process.standardInput = pipe
        inputPipe = pipe
    }
    try process.run()
    if let inputPipe, case .text(let text) = input {
        if !text.isEmpty { inputPipe.fileHandleForWriting.write(Data(text.utf8)) }
        try inputPipe.fileHandleForWriting.close()
    }
    return process
}

/// Runs `executable` with `arguments` to its end and returns its status and output. By default
/// standard output and standard error are captured into the result, each through a temporary file
/// read after the exit (no pipe to fill up or to be held open by a background child). A program
/// looked up in PATH runs as `/usr/bin/env NAME …`.
@discardableResult
public func runProcess(
    _ executable: URL, _ arguments: [String], input: ProcessInput = .inherit, environment: [String: String]? = nil,
    currentDirectory: URL? = nil, standardOutput: ProcessOutputDestination = .capture,
    standardError: ProcessOutputDestination = .capture
) throws -> ProcessResult {
    let files = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: files) }
    func resolved(_ d: ProcessOutputDestination, _ name: String) -> ProcessOutputDestination {
        if case .capture = d { return .file(files.appendingPathComponent(name)) }
        return d
    }
    let out = resolved(standardOutput, "stdout"), err = resolved(standardError, "stderr")
    let process = try startProcess(
        executable, arguments, input: input, environment: environment, currentDirectory: currentDirectory,
        standardOutput: out, standardError: err)
    process.waitUntilExit()
    func text(_ d: ProcessOutputDestination) -> String {
        guard case .file(let url) = d, let data = FileManager.default.contents(atPath: url.path) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }
    return ProcessResult(status: process.terminationStatus, stdout: text(out), stderr: text(err))
}
