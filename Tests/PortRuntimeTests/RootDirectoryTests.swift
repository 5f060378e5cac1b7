import Foundation
import XCTest
@testable import PortRuntime

/// In-root resolution, both by openat2 and by the component walk, on a real tree: what the
/// container's symlinks may say, the fd always lies inside the rootfs.
final class RootDirectoryTests: TemporaryRootfsCase {
    func link(_ name: String, _ target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: rootfs + "/" + name, withDestinationPath: target)
    }

    func both(_ body: (RootDirectory, Bool) throws -> Void) throws {
        for walk in [false, true] { try body(try root(walk: walk), walk) }
    }

    func testSymlinksAndDotDotNeverLeaveTheRoot() throws {
        try makeDirectory(rootfs + "/etc")
        try link("abs", "/etc")
        try link("rel", "../../../../etc")
        try link("chain", "abs/../rel")
        try both { root, walk in
            for path in ["/abs", "/rel", "/chain", "/../../etc", "/abs/../../etc/."] {
                let handle = try XCTUnwrap(try root.lookup(path), "\(path) walk: \(walk)")
                XCTAssertEqual(handle.path, "/etc", "\(path) walk: \(walk)")
                XCTAssertEqual(Files.readLink(handle.procPath), rootfs + "/etc")
            }
        }
    }

    func testMissingIsNilAndLoopsAreErrors() throws {
        try link("loop", "loop")
        try link("dangling", "/nowhere/else")
        try both { root, walk in
            XCTAssertNil(try root.lookup("/missing/x"), "walk: \(walk)")
            XCTAssertNil(try root.lookup("/dangling"), "walk: \(walk)")
            XCTAssertThrowsError(try root.lookup("/loop"), "walk: \(walk)")
            XCTAssertEqual(try root.lookup("/dangling", followFinal: false)?.fileType, S_IFLNK)
        }
    }

    /// A magic link's target is only a string inside the root: /proc/self/fd/N of the rootfs
    /// leads to nothing of the runtime's.
    func testMagicLinkTargetsStayStrings() throws {
        try link("fd", "/proc/self/fd/0")
        let root = try root(walk: true)
        XCTAssertNil(try root.lookup("/fd"))
        let made = try root.makeDirectories("/fd/x")
        XCTAssertEqual(made.path, "/proc/self/fd/0/x")
        XCTAssertEqual(kind(rootfs + "/proc/self/fd/0/x"), .typeDirectory)
    }

    func testCreationThroughADanglingSymlinkStaysInside() throws {
        try link("out", "/made/by/link")
        try both { root, walk in
            let file = try root.makeFile("/out/file")
            XCTAssertEqual(file.path, "/made/by/link/file", "walk: \(walk)")
            XCTAssertEqual(kind(rootfs + "/made/by/link/file"), .typeRegular)
            XCTAssertNil(kind("/made/by/link"))
        }
    }

    func testNoSymlinksRefusesEveryOne() throws {
        try makeDirectory(rootfs + "/real")
        try link("alias", "real")
        try both { root, walk in
            XCTAssertNotNil(try root.lookup("/real", noSymlinks: true))
            XCTAssertThrowsError(try root.lookup("/alias/x", noSymlinks: true), "walk: \(walk)")
            XCTAssertThrowsError(try root.makeDirectories("/alias/y", noSymlinks: true), "walk: \(walk)")
        }
        XCTAssertNil(kind(rootfs + "/real/y"))
    }

    func testAFileOnTheWayIsNoDirectory() throws {
        FileManager.default.createFile(atPath: rootfs + "/file", contents: Data())
        try both { root, walk in
            XCTAssertThrowsError(try root.makeDirectories("/file/x"), "walk: \(walk)")
        }
    }

    /// After a mount the same path is resolved again and must lead to the same place.
    func testReopenFindsTheSamePlace() throws {
        try makeDirectory(rootfs + "/data")
        let root = try root()
        let handle = try XCTUnwrap(try root.lookup("/data"))
        let reopened = try root.reopenAfterMount(handle)
        XCTAssertEqual(Files.readLink(reopened.procPath), rootfs + "/data")
        try FileManager.default.moveItem(atPath: rootfs + "/data", toPath: rootfs + "/moved")
        try makeDirectory(rootfs + "/data")
        XCTAssertThrowsError(try root.reopenAfterMount(handle)) { error in
            XCTAssertEqual((error as? RuntimeError)?.message, "/data was moved while it was mounted on: refusing to go on")
        }
    }
}
