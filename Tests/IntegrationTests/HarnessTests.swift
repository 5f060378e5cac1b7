import Foundation
import XCTest

/// The harness's own promise: a command that hangs fails its test and leaves no process.
final class HarnessTests: IntegrationCase {
    func testAHungCommandFailsItsTestAndIsKilledWithItsChildren() throws {
        let marker = "harness-hang-\(getpid())"
        XCTAssertThrowsError(try execute("/bin/sh", ["-c", "sleep 300 & exec sleep 301 # \(marker)"], seconds: 1)) { error in
            XCTAssertTrue("\(error)".contains("hung for 1 s"), "\(error)")
        }
        let left = try shell("ps -eo ppid=,args= | grep -c '^ *1 sleep 30[01]$' || true")
        XCTAssertEqual(left.stdout, "0\n", "a child of the hung command outlived it")
    }

    func testExitCodesAndSignalsAreReportedAsTheShellDoes() throws {
        XCTAssertEqual(try shell("exit 7").status, 7)
        XCTAssertEqual(try shell("kill -TERM $$").status, 128 + SIGTERM)
        XCTAssertEqual(try execute("/bin/pwd", [], directory: "/proc").stdout, "/proc\n")
    }
}
